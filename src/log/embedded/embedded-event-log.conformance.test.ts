import { appendFileSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { runEventLogConformance, type EventLogTestContext } from '../conformance.js';
import { createEmbeddedEventLog } from './embedded-event-log.js';
import { SEGMENT_HEADER_BYTES } from './frame.js';
import { listSegmentBases, partitionDirName, scanFrames, segmentFileName } from './segment.js';

const root = mkdtempSync(join(tmpdir(), 'kairos-log-conformance-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dirOf = (ctx: EventLogTestContext) => join(root, ctx.namespace);
// Small segments so that reads, recovery and the crash test cross segment boundaries.
const options = (ctx: EventLogTestContext) => ({
  dir: dirOf(ctx),
  partitionCount: ctx.partitionCount,
  segmentBytes: 256 * 1024,
});
const open_ = (ctx: EventLogTestContext) => createEmbeddedEventLog({ ...options(ctx), logger: ctx.logger });

runEventLogConformance({
  name: 'embedded',
  create: open_,
  reopen: open_,
  crash: {
    module: fileURLToPath(new URL('./embedded-event-log.ts', import.meta.url)),
    exportName: 'createEmbeddedEventLog',
    options,
    trials: 12,
  },
  torn: {
    async damageTail(ctx, partition) {
      const dir = join(dirOf(ctx), partitionDirName(partition));
      const base = listSegmentBases(dir).at(-1)!;
      const path = join(dir, segmentFileName(base));
      const file = await open(path, 'r');
      let last = { pos: -1, length: 0 };
      try {
        const { size } = await file.stat();
        const result = await scanFrames(file, {
          fromPos: SEGMENT_HEADER_BYTES,
          fromOffset: base,
          limitPos: size,
          verify: true,
          onFrame: (_offset, pos, length) => (last = { pos, length }),
        });
        if (result.stop !== 'end' || last.pos < 0) throw new Error(`unexpected segment state ${result.stop}`);
      } finally {
        await file.close();
      }
      // Cut inside the last record, then add bytes a crashed write could have left.
      truncateSync(path, last.pos + 1 + Math.floor(Math.random() * (last.length - 2)));
      appendFileSync(
        path,
        Buffer.from(Array.from({ length: 1 + Math.floor(Math.random() * 64) }, () => Math.floor(Math.random() * 256))),
      );
    },
  },
  retention: {
    create: (ctx) =>
      createEmbeddedEventLog({
        ...options(ctx),
        segmentBytes: 4 * 1024,
        retentionBytes: 16 * 1024,
        logger: ctx.logger,
      }),
    enforce: async (log) => {
      await (log as Awaited<ReturnType<typeof createEmbeddedEventLog>>).enforceRetention();
    },
  },
});
