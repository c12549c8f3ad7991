/**
 * Runs the language-neutral cases of test/fixtures/segments.cases.json through real PartitionTasks
 * (MemoryEventLog + MemoryStateStore + ManualClock) with the pipeline [profile, segments], and returns
 * the enter/exit timeline. Used by the tests and by anyone porting the rule evaluation (SDK preview).
 *
 * Case format:
 *   { name, rules: [{id, name, condition, version?, state?}], partitions?: 1, outOfOrderness?: "5s",
 *     events: [{at, arrive?, …Segment message}], advance?: ["31m", …],
 *     expect: [{at | after (| before), profile, segment, type, version?}], late?: n }
 * Times are "+<duration>[±<duration>…]" from the case start (2026-01-01T00:00:00Z), or ISO strings.
 * Events arrive in the listed order; the wall clock is set to each event's `arrive` (default its `at`)
 * when it arrives (it never goes back); `advance` moves the wall clock after the last event, draining
 * after each step (idle partitions: the watermark follows the wall clock).
 */
import {
  ManualClock,
  anonymousKey,
  encodePayload,
  parseDuration,
  userKey,
  type KairosEvent,
  type LogPayload,
} from '../core/index.js';
import { MemoryEventLog } from '../log/index.js';
import { createProfileOperator } from '../profiles/index.js';
import { MemoryStateStore } from '../store/index.js';
import { PartitionTask, resolveStreamOptions, type KeyedOperator } from '../stream/index.js';
import { isMembershipChange } from './membership.js';
import { createSegmentsOperator } from './operator.js';
import type { SegmentsOperatorOptions } from './options.js';
import type { ActiveSegmentVersion, Condition, MembershipChange } from './types.js';
import { validateDefinition } from './validate.js';

export const CASE_T0 = Date.UTC(2026, 0, 1);

export interface CaseRule {
  id: string;
  name?: string;
  condition: Condition;
  version?: number;
  state?: 'active' | 'shadow';
}

export interface CaseEvent {
  at: string;
  arrive?: string;
  type?: KairosEvent['type'];
  userId?: string;
  anonymousId?: string;
  previousId?: string;
  event?: string;
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  messageId?: string;
}

export interface CaseExpectation {
  at?: string;
  after?: string;
  before?: string;
  profile: string;
  segment: string;
  type: 'enter' | 'exit';
  version?: number;
}

export interface SegmentCase {
  name: string;
  description?: string;
  rules: CaseRule[];
  partitions?: number;
  outOfOrderness?: string;
  events: CaseEvent[];
  advance?: string[];
  expect: CaseExpectation[];
  late?: number;
}

export interface CaseRun {
  changes: MembershipChange[];
  late: number;
  store: MemoryStateStore;
  log: MemoryEventLog;
  tasks: PartitionTask[];
  clock: ManualClock;
}

/** "+10m", "+10m-1ms", "+30d+12h", or an ISO timestamp → epoch ms. */
export function caseTime(text: string): number {
  if (!text.startsWith('+')) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new Error(`bad case time ${text}`);
    return ms;
  }
  let total = CASE_T0;
  for (const match of text.matchAll(/([+-])([0-9.]+(?:ms|s|m|h|d|w))/g)) {
    total += (match[1] === '-' ? -1 : 1) * parseDuration(match[2]!);
  }
  return total;
}

/** A case time as a compact offset for readable diffs ("+10m", "+10m+1ms"). */
export function formatCaseTime(ms: number): string {
  let rest = ms - CASE_T0;
  const sign = rest < 0 ? '-' : '+';
  rest = Math.abs(rest);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.length === 0 ? '+0s' : sign + parts.join('+');
}

export function caseDefinitions(rules: readonly CaseRule[]): ActiveSegmentVersion[] {
  return rules.map((rule) => {
    const definition = validateDefinition({ id: rule.id, name: rule.name ?? rule.id, condition: rule.condition });
    return {
      id: definition.id,
      version: rule.version ?? 1,
      state: rule.state ?? 'active',
      condition: definition.condition,
    };
  });
}

/** The collector's identity routing, reduced to what cases need (link on first userId+anonymousId, alias). */
class IdentityEmulation {
  private readonly edges = new Map<string, string>();
  private counter = 0;

  route(message: CaseEvent, eventTimeMs: number): LogPayload[] {
    const messageId = message.messageId ?? `case-${++this.counter}`;
    const user = message.userId !== undefined ? userKey(message.userId) : undefined;
    const sealed: string[] = [];
    if (user !== undefined) {
      const candidates =
        message.type === 'alias' && message.previousId !== undefined
          ? [anonymousKey(message.previousId), userKey(message.previousId)]
          : message.anonymousId !== undefined
            ? [anonymousKey(message.anonymousId)]
            : [];
      for (const from of candidates) {
        if (from === user || this.edges.has(from) || this.resolve(user) === from) continue;
        this.edges.set(from, user);
        sealed.push(from);
      }
    }
    const key = this.resolve(user ?? anonymousKey(message.anonymousId ?? 'anonymous'));
    const iso = new Date(eventTimeMs).toISOString();
    const { at: _at, arrive: _arrive, ...rest } = message;
    const event = {
      type: 'track',
      ...rest,
      messageId,
      timestamp: iso,
      eventTimeMs,
      receivedAt: iso,
      receivedAtMs: eventTimeMs,
      profileKey: key,
      ...(sealed.length > 0 ? { links: sealed.map((fromKey) => ({ fromKey })) } : {}),
    } as KairosEvent;
    const seals: LogPayload[] = sealed.map((from) => ({
      control: 'seal',
      messageId: `${messageId}:seal:${from}`,
      profileKey: from,
      intoKey: key,
      eventTimeMs,
      receivedAtMs: eventTimeMs,
    }));
    return [...seals, event];
  }

  private resolve(key: string): string {
    let current = key;
    for (let next = this.edges.get(current); next !== undefined; next = this.edges.get(current)) current = next;
    return current;
  }
}

export interface RunCaseOptions {
  readonly operator?: SegmentsOperatorOptions;
  /** Extra operators after segments (tests). */
  readonly extra?: readonly KeyedOperator[];
}

export async function runCase(testCase: SegmentCase, options: RunCaseOptions = {}): Promise<CaseRun> {
  const partitions = testCase.partitions ?? 1;
  const log = new MemoryEventLog(partitions);
  const store = new MemoryStateStore();
  const clock = new ManualClock(CASE_T0);
  const stream = resolveStreamOptions({
    outOfOrderness: testCase.outOfOrderness ?? '5s',
    idleTimeout: '1s',
    pollMs: 1,
    clock,
    maxBatchRecords: 5,
  });
  const pipeline = [
    createProfileOperator(),
    createSegmentsOperator(caseDefinitions(testCase.rules), options.operator),
    ...(options.extra ?? []),
  ];
  const run: CaseRun = { changes: [], late: 0, store, log, tasks: [], clock };
  for (let p = 0; p < partitions; p++) {
    const task = new PartitionTask({
      partition: p,
      log,
      store,
      pipeline,
      options: stream,
      owner: 'cases',
      onCommit: (report) => {
        for (const record of report.outbox) if (isMembershipChange(record.value)) run.changes.push(record.value);
        run.late += report.late;
      },
    });
    await task.start();
    run.tasks.push(task);
  }
  const identity = new IdentityEmulation();
  for (const message of testCase.events) {
    const eventTimeMs = caseTime(message.at);
    const arrival = caseTime(message.arrive ?? message.at);
    if (arrival > clock.now()) {
      // The partitions were idle until this arrival: their watermarks follow the wall clock meanwhile.
      clock.set(arrival);
      await drain(run);
    }
    const payloads = identity.route(message, eventTimeMs);
    await log.append(payloads.map((p) => ({ key: p.profileKey, value: encodePayload(p), timestampMs: p.eventTimeMs })));
    await drain(run);
  }
  for (const step of testCase.advance ?? []) {
    clock.advance(parseDuration(step));
    await drain(run);
  }
  return run;
}

/** Steps every task until each has read the whole log, nothing waits for a merge, and due timers fired. */
export async function drain(run: Pick<CaseRun, 'tasks' | 'log'>): Promise<void> {
  for (let round = 0; round < 100; round++) {
    let settled = true;
    for (const task of run.tasks) {
      for (let i = 0; i < 1000; i++) {
        await task.step();
        const { end } = await run.log.offsets(task.partition);
        if (task.position >= end && !task.hasPending) break;
        if (task.hasPending) {
          settled = false;
          break;
        }
      }
      await task.step();
    }
    if (settled) return;
  }
  throw new Error('the tasks did not settle (a merge waits for a seal that never comes?)');
}

/**
 * The timeline of a run in the expectation shape, per profile (the order across profiles on different
 * partitions is not defined; within a profile it is), matching `after`/`before` ranges where given.
 */
export function timeline(
  changes: readonly MembershipChange[],
  expected: readonly CaseExpectation[],
): Record<string, CaseExpectation[]> {
  const out: Record<string, CaseExpectation[]> = {};
  const expectedByProfile = byProfile(expected);
  for (const change of changes) {
    const list = (out[change.profileKey] ??= []);
    const exp = expectedByProfile[change.profileKey]?.[list.length];
    const actual: CaseExpectation = {
      at: formatCaseTime(change.eventTimeMs),
      profile: change.profileKey,
      segment: change.segmentId,
      type: change.type,
    };
    if (exp?.version !== undefined) actual.version = change.version;
    if (exp && exp.at === undefined && (exp.after !== undefined || exp.before !== undefined)) {
      const inRange =
        (exp.after === undefined || change.eventTimeMs >= caseTime(exp.after)) &&
        (exp.before === undefined || change.eventTimeMs <= caseTime(exp.before));
      if (inRange) {
        delete actual.at;
        if (exp.after !== undefined) actual.after = exp.after;
        if (exp.before !== undefined) actual.before = exp.before;
      }
    }
    list.push(actual);
  }
  return out;
}

/** Expectations per profile, with `at` normalised to the same spelling as `timeline` produces. */
export function normaliseExpectations(expected: readonly CaseExpectation[]): Record<string, CaseExpectation[]> {
  return byProfile(
    expected.map((exp) => {
      const out: CaseExpectation = { ...exp };
      if (exp.at !== undefined) out.at = formatCaseTime(caseTime(exp.at));
      return out;
    }),
  );
}

function byProfile(list: readonly CaseExpectation[]): Record<string, CaseExpectation[]> {
  const out: Record<string, CaseExpectation[]> = {};
  for (const exp of list) (out[exp.profile] ??= []).push(exp);
  return out;
}
