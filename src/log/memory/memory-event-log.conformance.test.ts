import { EVENT_LOG_CONFORMANCE_TESTS as T, runEventLogConformance } from '../conformance.js';
import { createMemoryEventLog } from './memory-event-log.js';

runEventLogConformance({
  name: 'memory',
  create: (ctx) => createMemoryEventLog({ partitionCount: ctx.partitionCount }),
  skip: [
    { reason: 'not durable by design: records live in process memory', tests: [T.reopen, T.crash, T.torn] },
    { reason: 'keeps every record until the process exits: no retention', tests: [T.retention] },
  ],
});
