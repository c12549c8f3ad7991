import type { KairosEvent } from '../core/index.js';
import type { FiredTimer, KeyedContext, KeyedOperator } from './types.js';

/** A half-open event-time interval [startMs, endMs). */
export interface TimeWindow {
  readonly startMs: number;
  readonly endMs: number;
}

export type WindowAssigner =
  | { readonly kind: 'tumbling'; readonly sizeMs: number; readonly offsetMs: number }
  | { readonly kind: 'sliding'; readonly sizeMs: number; readonly slideMs: number }
  | { readonly kind: 'session'; readonly gapMs: number };

export function tumblingWindows(sizeMs: number, offsetMs = 0): WindowAssigner {
  return { kind: 'tumbling', sizeMs, offsetMs };
}
export function slidingWindows(sizeMs: number, slideMs: number): WindowAssigner {
  return { kind: 'sliding', sizeMs, slideMs };
}
export function sessionWindows(gapMs: number): WindowAssigner {
  return { kind: 'session', gapMs };
}

/** The windows an element at `t` belongs to (for sessions: its own proto-window [t, t + gap)). */
export function assignWindows(assigner: WindowAssigner, t: number): TimeWindow[] {
  switch (assigner.kind) {
    case 'tumbling': {
      const start = t - mod(t - assigner.offsetMs, assigner.sizeMs);
      return [{ startMs: start, endMs: start + assigner.sizeMs }];
    }
    case 'sliding': {
      const windows: TimeWindow[] = [];
      const lastStart = t - mod(t, assigner.slideMs);
      for (let start = lastStart; start > t - assigner.sizeMs; start -= assigner.slideMs) {
        windows.push({ startMs: start, endMs: start + assigner.sizeMs });
      }
      return windows;
    }
    case 'session':
      return [{ startMs: t, endMs: t + assigner.gapMs }];
  }
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** Flink's AggregateFunction: an accumulator built element by element, mergeable for sessions/merges. */
export interface AggregateFunction<Acc, Out> {
  create(): Acc;
  add(accumulator: Acc, event: KairosEvent): Acc;
  merge(a: Acc, b: Acc): Acc;
  result(accumulator: Acc): Out;
}

/** A window result as emitted to the outbox. `final: false` marks a late update of a fired window. */
export interface WindowResult<Out> {
  readonly kind: 'window';
  readonly operator: string;
  readonly key: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly result: Out;
  readonly update: boolean;
}

export interface WindowOperatorOptions<Acc, Out> {
  readonly name: string;
  readonly assigner: WindowAssigner;
  readonly aggregate: AggregateFunction<Acc, Out>;
  /** Which elements count. @default every element */
  readonly filter?: (event: KairosEvent) => boolean;
  /** A window's state is kept (and late elements update it) until watermark ≥ end − 1 + this. @default 0 */
  readonly allowedLatenessMs?: number;
}

/** [startMs, endMs, accumulator, fired (0|1)] — compact for the per-profile state blob. */
type WindowSlot<Acc> = [number, number, Acc, 0 | 1];

interface WindowState<Acc> {
  w: WindowSlot<Acc>[];
}

/**
 * A keyed, event-time window operator with allowed lateness and a late side-output, as in Flink:
 * a window fires when the watermark passes its end; elements arriving after that but within the
 * allowed lateness update it and fire it again (`update: true`); elements later than that go to the
 * late side-output and change nothing. Session windows merge when their gaps overlap.
 */
export function createWindowOperator<Acc, Out>(options: WindowOperatorOptions<Acc, Out>): KeyedOperator {
  const { name, assigner, aggregate } = options;
  const lateness = options.allowedLatenessMs ?? 0;
  const filter = options.filter;

  const fireTime = (w: TimeWindow) => w.endMs - 1;
  const cleanTime = (w: TimeWindow) => w.endMs - 1 + lateness;
  const tagOf = (kind: 'fire' | 'clean', startMs: number, endMs: number) => `${kind}:${startMs}:${endMs}`;

  const emit = (ctx: KeyedContext, slot: WindowSlot<Acc>, update: boolean) => {
    const record: WindowResult<Out> = {
      kind: 'window',
      operator: name,
      key: ctx.key,
      startMs: slot[0],
      endMs: slot[1],
      result: aggregate.result(slot[2]),
      update,
    };
    ctx.emit(record);
  };

  const schedule = (ctx: KeyedContext, slot: WindowSlot<Acc>) => {
    const w = { startMs: slot[0], endMs: slot[1] };
    if (slot[3] === 0) ctx.registerTimer(fireTime(w), 'event', tagOf('fire', w.startMs, w.endMs));
    ctx.registerTimer(cleanTime(w), 'event', tagOf('clean', w.startMs, w.endMs));
  };

  const unschedule = (ctx: KeyedContext, slot: WindowSlot<Acc>) => {
    const w = { startMs: slot[0], endMs: slot[1] };
    ctx.deleteTimer(fireTime(w), 'event', tagOf('fire', w.startMs, w.endMs));
    ctx.deleteTimer(cleanTime(w), 'event', tagOf('clean', w.startMs, w.endMs));
  };

  /** Adds `acc` for window `w` to the state, merging sessions; returns the slot now holding it. */
  const addWindow = (
    ctx: KeyedContext,
    state: WindowState<Acc>,
    w: TimeWindow,
    acc: Acc,
    fired: 0 | 1,
  ): WindowSlot<Acc> => {
    if (assigner.kind !== 'session') {
      let slot = state.w.find((s) => s[0] === w.startMs && s[1] === w.endMs);
      if (slot) {
        slot[2] = aggregate.merge(slot[2], acc);
        slot[3] = (slot[3] | fired) as 0 | 1;
      } else {
        slot = [w.startMs, w.endMs, acc, fired];
        state.w.push(slot);
        schedule(ctx, slot);
      }
      return slot;
    }
    // Sessions: merge every window that overlaps [start, end).
    let start = w.startMs;
    let end = w.endMs;
    let merged = acc;
    let anyFired = fired;
    const kept: WindowSlot<Acc>[] = [];
    for (const slot of state.w) {
      if (slot[0] < end && start < slot[1]) {
        start = Math.min(start, slot[0]);
        end = Math.max(end, slot[1]);
        merged = aggregate.merge(slot[2], merged);
        anyFired = (anyFired | slot[3]) as 0 | 1;
        unschedule(ctx, slot);
      } else {
        kept.push(slot);
      }
    }
    const slot: WindowSlot<Acc> = [start, end, merged, anyFired];
    kept.push(slot);
    kept.sort((a, b) => a[0] - b[0]);
    state.w = kept;
    schedule(ctx, slot);
    return slot;
  };

  return {
    name,
    processElement(event, ctx) {
      if (filter && !filter(event)) return;
      const t = event.eventTimeMs;
      let state = ctx.getState<WindowState<Acc>>();
      let changed = false;
      for (const w of assignWindows(assigner, t)) {
        if (cleanTime(w) < ctx.watermarkMs) {
          ctx.late({ messageId: event.messageId, eventTimeMs: t, startMs: w.startMs, endMs: w.endMs });
          continue;
        }
        state ??= { w: [] };
        const slot = addWindow(ctx, state, w, aggregate.add(aggregate.create(), event), 0);
        changed = true;
        // Already fired (the watermark passed its end): a late update within the allowed lateness.
        if (fireTime({ startMs: slot[0], endMs: slot[1] }) <= ctx.watermarkMs) {
          slot[3] = 1;
          emit(ctx, slot, true);
        }
      }
      if (changed) ctx.setState(state);
    },
    onTimer(timer: FiredTimer, ctx) {
      const state = ctx.getState<WindowState<Acc>>();
      if (!state) return;
      const [kind, startText, endText] = timer.tag.split(':');
      const startMs = Number(startText);
      const endMs = Number(endText);
      const index = state.w.findIndex((s) => s[0] === startMs && s[1] === endMs);
      if (index === -1) return;
      const slot = state.w[index]!;
      // With zero lateness both timers share a time; the window fires before it is cleaned (as in Flink).
      if (slot[3] === 0) {
        slot[3] = 1;
        emit(ctx, slot, false);
      }
      if (kind === 'clean') state.w.splice(index, 1);
      ctx.setState(state.w.length > 0 ? state : undefined);
    },
    merge(from, ctx) {
      const other = from as WindowState<Acc> | undefined;
      if (!other || other.w.length === 0) return;
      const state = ctx.getState<WindowState<Acc>>() ?? { w: [] };
      for (const [startMs, endMs, acc, fired] of other.w) {
        if (endMs - 1 + lateness < ctx.watermarkMs) continue;
        addWindow(ctx, state, { startMs, endMs }, acc, fired);
      }
      ctx.setState(state);
    },
    onSeal(ctx) {
      const state = ctx.getState<WindowState<Acc>>();
      for (const slot of state?.w ?? []) unschedule(ctx, slot);
    },
  };
}

/** Ready-made aggregates. */
export const countAggregate: AggregateFunction<number, number> = {
  create: () => 0,
  add: (acc) => acc + 1,
  merge: (a, b) => a + b,
  result: (acc) => acc,
};

export function sumAggregate(value: (event: KairosEvent) => number): AggregateFunction<number, number> {
  return {
    create: () => 0,
    add: (acc, event) => acc + value(event),
    merge: (a, b) => a + b,
    result: (acc) => acc,
  };
}
