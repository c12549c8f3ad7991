import type { KairosEvent } from '../core/index.js';
import { PROFILE_OPERATOR, type ProfileState } from '../profiles/index.js';
import type { FiredTimer, KeyedContext, KeyedOperator } from '../stream/index.js';
import {
  compileDefinitions,
  eventIndexKeys,
  type CompiledDefinitions,
  type CompiledSegment,
  type Leaf,
  type Node,
} from './compile.js';
import {
  holdsSequence,
  shiftLeaf,
  insertSequence,
  insertWindow,
  mergeSequence,
  mergeWindow,
  sequenceChanges,
  windowChanges,
  windowContribution,
  windowValue,
} from './leaves.js';
import { changeId, memberIndexKey } from './membership.js';
import {
  resolveSegmentsOperatorOptions,
  type ResolvedSegmentsOperatorOptions,
  type SegmentsOperatorOptions,
} from './options.js';
import { valueAt } from './paths.js';
import type { ActiveSegmentVersion, MembershipChange } from './types.js';

export const SEGMENTS_OPERATOR = 'segments';
const WAKE = 'wake';
/** Candidate instants tried per next-change search; beyond, the search resumes at the last one tried. */
const SEARCH_LIMIT = 64;

/**
 * [flags (bit 0 member, bit 1 announced), time of the last transition (ms: `since` while a member),
 * change number, next change (ms)?]. A slot that is neither a member nor pending is dropped once the
 * clock has passed its last transition (the change number only has to tell apart changes at one instant).
 */
export type MemberSlot = [number, number, number] | [number, number, number, number];
const MEMBER = 1;
const ANNOUNCED = 2;

/**
 * The `segments` slot of a profile's state. Stored (between calls), every time in it except `e` is
 * relative to `e` (see decodeSegmentsState); a call decodes it in place and encodes it when it stores.
 */
export interface SegmentsState {
  /** The profile's evaluation clock: membership has been evaluated up to this event-time instant. */
  e: number;
  /** The registered wake-up timer (the earliest next change of any segment). */
  w?: number;
  /** Fingerprint of the definitions this state was last reconciled with. */
  d?: string;
  /** Leaf states by leaf id (shared by every rule using the same leaf). */
  l: Record<string, unknown>;
  /** Membership slots by `<segmentId>@<version>`. */
  m: Record<string, MemberSlot>;
  /** Set by an identity merge: the next element evaluates every segment. */
  x?: 1;
}

/**
 * The segments stream operator: evaluates every active and shadow segment version for each profile
 * in event time, and emits enter/exit records (active versions only) to the outbox, keeps a member
 * index (`x/segments/m/<id>/<version>/<profileKey>`) and per-partition member counters.
 *
 * Time model (docs/segments.md): each profile has an evaluation clock `e`. Processing an event at t
 * first evaluates, in order, every instant before max(t, watermark) at which some membership changes
 * by time alone (a window entry expiring, an `absent … for` completing) — so a profile's timeline does
 * not depend on how its events interleave with other profiles' — then adds the event and evaluates
 * at T = max(e, t, watermark). A wake-up timer at the earliest pending change makes exits happen with
 * no new event (also when the partition is idle: the watermark then follows the wall clock).
 */
export function createSegmentsOperator(
  definitions: readonly ActiveSegmentVersion[],
  options: SegmentsOperatorOptions = {},
): KeyedOperator {
  const opts = resolveSegmentsOperatorOptions(options);
  const defs = compileDefinitions(definitions, opts);
  const run = new Evaluation(defs, opts);
  return {
    name: SEGMENTS_OPERATOR,
    processElement(event, ctx) {
      const existing = ctx.getState<SegmentsState>();
      const t = event.eventTimeMs;
      const target = Math.max(t, ctx.watermarkMs);
      if (existing) run.begin(ctx, existing, true);
      else run.begin(ctx, { e: target, d: defs.fingerprint, l: {}, m: {} }, false);
      if (!existing) run.fresh = true;
      run.handle(event, target);
      run.finish();
    },
    onTimer(timer: FiredTimer, ctx) {
      if (timer.tag !== WAKE) return;
      const state = ctx.getState<SegmentsState>();
      if (!state) return;
      run.begin(ctx, state, true);
      if (state.w === timer.timeMs) delete state.w;
      run.reconcileIfNeeded();
      run.catchUp(timer.timeMs, true);
      state.e = Math.max(state.e, timer.timeMs);
      run.finish();
    },
    merge(from, ctx) {
      if (!from) return;
      // A copy: the sealed profile's cached state must stay as stored.
      const other = decodeSegmentsState(defs, structuredClone(from as SegmentsState));
      const existing = ctx.getState<SegmentsState>();
      const T = Math.max(existing?.e ?? -Infinity, other.e, ctx.watermarkMs);
      if (existing) run.begin(ctx, existing, true);
      else run.begin(ctx, { e: T, d: defs.fingerprint, l: {}, m: {} }, false);
      run.reconcileIfNeeded();
      run.catchUp(T, false);
      run.mergeLeaves(other, T);
      run.state.e = Math.max(run.state.e, T);
      // The linking message is processed right after the merge: every segment is evaluated then, at its
      // event time (the instant the two histories became one profile).
      run.state.x = 1;
      run.store();
    },
    onSeal(ctx) {
      const state = ctx.getState<SegmentsState>();
      if (!state) return;
      run.begin(ctx, state, true);
      run.exitAll(Math.max(state.e, ctx.watermarkMs));
      // The task drops the key's timers; the leaves stay for the survivor's merge.
      delete state.w;
      run.store();
    },
  };
}

const ALL = 'all' as const;
const NONE: readonly number[] = [];
const ascending = (a: number, b: number) => a - b;
/** Evaluate the segments marked in the scratch marks (and the due ones). */
const MARKED = 'marked' as const;

/** The index entries an event is looked up under, merged per (type, name) once and cached. */
const entryCaches = new WeakMap<CompiledDefinitions, Map<string, readonly { leaf: Leaf; filter: number }[]>>();
const NO_ENTRIES: readonly { leaf: Leaf; filter: number }[] = [];
function entriesFor(defs: CompiledDefinitions, event: KairosEvent): readonly { leaf: Leaf; filter: number }[] {
  let cache = entryCaches.get(defs);
  if (!cache) entryCaches.set(defs, (cache = new Map<string, readonly { leaf: Leaf; filter: number }[]>()));
  const name =
    event.type === 'track' ? event.event : event.type === 'page' || event.type === 'screen' ? event.name : undefined;
  const cacheKey = name === undefined ? event.type : `${event.type}\u0000${name}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const merged: { leaf: Leaf; filter: number }[] = [];
  for (const key of eventIndexKeys(event)) merged.push(...(defs.eventIndex.get(key) ?? []));
  const entries = merged.length === 0 ? NO_ENTRIES : merged;
  // Event names are unbounded input: cache a bounded number of them.
  if (cache.size < 10_000) cache.set(cacheKey, entries);
  return entries;
}

/**
 * Evaluates one operator call on one profile. One instance per operator, re-bound for every call
 * (`begin`) — calls never nest — so the hot path allocates no evaluator and its work arrays are reused.
 */
class Evaluation {
  fresh = false;
  private traits: Record<string, unknown> | undefined = undefined;
  private tracesLoaded = false;
  /** Announced memberships of retired versions, waiting to be handed over to the active version (reconcile). */
  private handovers: Map<string, { version: number; n: number }> | undefined = undefined;
  private ctx!: KeyedContext;
  state!: SegmentsState;

  /** Per-segment "evaluate now" marks. */
  private readonly marks: Uint8Array;
  private readonly candidates: number[] = [];
  private readonly sequenceMasks = new Map<Leaf, number>();

  constructor(
    private readonly defs: CompiledDefinitions,
    private readonly opts: ResolvedSegmentsOperatorOptions,
  ) {
    this.marks = new Uint8Array(defs.segments.length);
  }

  /** Binds a call. `encoded`: the state is in its stored form (times relative to `e`); it is decoded in place. */
  begin(ctx: KeyedContext, state: SegmentsState, encoded: boolean): this {
    this.ctx = ctx;
    this.state = state;
    this.fresh = false;
    this.traits = undefined;
    this.tracesLoaded = false;
    this.handovers = undefined;
    if (encoded) decodeSegmentsState(this.defs, state);
    return this;
  }

  private leafState(leaf: Leaf): unknown {
    return this.state.l[leaf.id];
  }

  handle(event: KairosEvent, target: number): void {
    if (this.fresh) {
      this.settleAfterInsert(event, target, ALL);
      return;
    }
    this.reconcileIfNeeded();
    this.catchUp(target, false);
    const merged = this.state.x === 1;
    delete this.state.x;
    this.settleAfterInsert(event, target, merged ? ALL : undefined);
  }

  private settleAfterInsert(event: KairosEvent, target: number, dirtyAll: typeof ALL | undefined): void {
    const s = this.state;
    const T = Math.max(s.e, target);
    // insert() marks the users of the leaves it changed; settle() consumes the marks.
    const matched = this.insert(event, T);
    if (event.type === 'identify' && event.traits) for (const i of this.defs.traitSegments) this.marks[i] = 1;
    if (matched === 'late-only') {
      this.ctx.late({
        messageId: event.messageId,
        eventTimeMs: event.eventTimeMs,
        evaluatedAtMs: T,
        reason: 'window-closed',
      });
    }
    this.settle(T, dirtyAll ?? MARKED);
    s.e = T;
  }

  /** Adds the event to every leaf it matches; marks the users of changed leaves dirty. */
  private insert(event: KairosEvent, T: number): 'none' | 'accepted' | 'late-only' {
    const s = this.state;
    const marks = this.marks;
    let matched = false;
    let accepted = false;
    let sequenceMasks: Map<Leaf, number> | undefined;
    const entries = entriesFor(this.defs, event);
    for (let k = 0; k < entries.length; k++) {
      const { leaf, filter } = entries[k]!;
      if (!leaf.filters[filter]!.where(event)) continue;
      if (leaf.kind === 'sequence') {
        sequenceMasks ??= this.sequenceMasks;
        sequenceMasks.set(leaf, (sequenceMasks.get(leaf) ?? 0) | (1 << filter));
        continue;
      }
      const contribution = windowContribution(leaf, event);
      if (contribution === undefined) continue;
      matched = true;
      const next = insertWindow(leaf, this.leafState(leaf), contribution, event.eventTimeMs, T, this.opts);
      if (next === undefined) continue;
      accepted = true;
      s.l[leaf.id] = next;
      for (const i of this.defs.leafUsers.get(leaf.id) ?? NONE) marks[i] = 1;
    }
    if (sequenceMasks) {
      for (const leaf of sequenceMasks.keys()) {
        const mask = sequenceMasks.get(leaf)!;
        matched = true;
        const next = insertSequence(
          leaf as Extract<Leaf, { kind: 'sequence' }>,
          this.leafState(leaf),
          event.eventTimeMs,
          mask,
          T,
          this.opts.maxSequenceEntries,
        );
        if (next === undefined) continue;
        accepted = true;
        s.l[leaf.id] = next;
        for (const i of this.defs.leafUsers.get(leaf.id) ?? NONE) marks[i] = 1;
      }
      sequenceMasks.clear();
    }
    if (!matched) return 'none';
    if (accepted) return 'accepted';
    return event.eventTimeMs < this.ctx.watermarkMs ? 'late-only' : 'none';
  }

  /** Evaluates every change instant strictly before `limit` (or up to it, `inclusive`), in time order. */
  catchUp(limit: number, inclusive: boolean): void {
    for (let guard = 0; guard < 100_000; guard++) {
      const c = this.nextPending();
      if (c === undefined || (inclusive ? c > limit : c >= limit)) return;
      this.settle(c, MARKED);
      if (c > this.state.e) this.state.e = c;
    }
  }

  private nextPending(): number | undefined {
    let min: number | undefined;
    const m = this.state.m;
    for (const key in m) {
      const nc = m[key]![3];
      if (nc !== undefined && (min === undefined || nc < min)) min = nc;
    }
    return min;
  }

  /**
   * Evaluates, at instant T and in dependency order, the segments that are dirty, due (their next
   * change ≤ T) or that reference a segment which changed just now; records transitions.
   */
  settle(T: number, dirty: typeof ALL | typeof MARKED): void {
    const s = this.state;
    const segments = this.defs.segments;
    const marks = this.marks;
    if (dirty === ALL) marks.fill(1);
    for (const key in s.m) {
      const nc = s.m[key]![3];
      if (nc !== undefined && nc <= T) {
        const seg = this.defs.byKey.get(key);
        if (seg) marks[seg.index] = 1;
      }
    }
    // Dependency order: a segment's dependents come after it, so a change marks them before they are reached.
    for (let i = 0; i < segments.length; i++) {
      if (marks[i] === 0) continue;
      marks[i] = 0;
      const seg = segments[i]!;
      const slot = s.m[seg.key];
      const truth = this.evaluate(seg.root, T);
      const was = slot !== undefined && (slot[0] & MEMBER) !== 0;
      if (truth !== was) {
        this.transition(seg, truth, T);
        if (seg.active) for (const d of this.defs.dependents.get(seg.id) ?? NONE) marks[d] = 1;
      } else if (truth && seg.active && (slot![0] & ANNOUNCED) === 0) {
        this.announce(seg, slot!, T);
      }
      this.setNextChange(seg, this.nextChange(seg, T, truth));
    }
  }

  private evaluate(node: Node, T: number): boolean {
    switch (node.k) {
      case 'all':
        for (const child of node.c) if (!this.evaluate(child, T)) return false;
        return true;
      case 'any':
        for (const child of node.c) if (this.evaluate(child, T)) return true;
        return false;
      case 'not':
        return !this.evaluate(node.c, T);
      case 'agg':
        return node.test(windowValue(node.leaf, this.leafState(node.leaf), T, node.withinMs));
      case 'seq':
        return holdsSequence(node.leaf, this.leafState(node.leaf), T);
      case 'trait':
        return node.test(valueAt(this.loadTraits(), node.parts));
      case 'in': {
        if (node.key === undefined) return false;
        const slot = this.state.m[node.key];
        return slot !== undefined && (slot[0] & MEMBER) !== 0;
      }
    }
  }

  private loadTraits(): Record<string, unknown> | undefined {
    if (!this.tracesLoaded) {
      this.traits = this.ctx.readState<ProfileState>(PROFILE_OPERATOR)?.tr;
      this.tracesLoaded = true;
    }
    return this.traits;
  }

  /** The first instant after T at which the segment's truth differs from `truth` with no new event. */
  private nextChange(seg: CompiledSegment, T: number, truth: boolean): number | undefined {
    // Most rules can only move one way by time alone (a count above a threshold can only drop out).
    if (seg.drift === 'none' || (truth ? seg.drift === 'up' : seg.drift === 'down')) return undefined;
    const candidates = this.candidates;
    candidates.length = 0;
    for (const { leaf, withinMs } of seg.sources) {
      const state = this.leafState(leaf);
      if (state === undefined) continue;
      if (leaf.kind === 'sequence') sequenceChanges(leaf, state, T, candidates);
      else windowChanges(leaf, state, T, withinMs, candidates);
    }
    if (candidates.length === 0) return undefined;
    candidates.sort(ascending);
    let tried = 0;
    let last = NaN;
    for (const c of candidates) {
      if (c === last) continue;
      last = c;
      if (this.evaluate(seg.root, c) !== truth) return c;
      if (++tried >= SEARCH_LIMIT) return c;
    }
    return undefined;
  }

  private setNextChange(seg: CompiledSegment, nc: number | undefined): void {
    const s = this.state;
    const slot = s.m[seg.key];
    if (!slot) {
      if (nc !== undefined) s.m[seg.key] = [0, 0, 0, nc];
      return;
    }
    if (nc === undefined) {
      if (slot.length > 3) slot.pop();
      // Nothing to remember once out and past its last transition (or never in).
      if (slot[0] === 0 && (slot[2] === 0 || slot[1] < s.e)) delete s.m[seg.key];
    } else {
      slot[3] = nc;
    }
  }

  private transition(seg: CompiledSegment, enter: boolean, T: number): void {
    const s = this.state;
    const slot: MemberSlot = s.m[seg.key] ?? (s.m[seg.key] = [0, 0, 0]);
    slot[2] += 1;
    const indexKey = memberIndexKey(seg.id, seg.version, this.ctx.key);
    if (enter) {
      slot[0] |= MEMBER;
      slot[1] = T;
      this.ctx.putIndex(indexKey, T);
      this.ctx.addToCounter(seg.key, 1);
      if (seg.active) this.announce(seg, slot, T);
    } else {
      slot[0] &= ~MEMBER;
      slot[1] = T;
      this.ctx.putIndex(indexKey, undefined);
      this.ctx.addToCounter(seg.key, -1);
      if ((slot[0] & ANNOUNCED) !== 0) {
        slot[0] &= ~ANNOUNCED;
        this.emit('exit', seg.id, seg.version, T, slot[2]);
      }
    }
  }

  /** An active version's membership becomes visible: an enter record, unless a retired version's announced membership hands over. */
  private announce(seg: CompiledSegment, slot: MemberSlot, T: number): void {
    if (!this.opts.emit) return;
    slot[0] |= ANNOUNCED;
    if (this.handovers?.delete(seg.id)) return;
    this.emit('enter', seg.id, seg.version, T, slot[2]);
  }

  private emit(type: 'enter' | 'exit', segmentId: string, version: number, T: number, n: number): void {
    const profileKey = this.ctx.key;
    const record: MembershipChange = {
      kind: 'segment',
      type,
      segmentId,
      version,
      profileKey,
      eventTimeMs: T,
      id: changeId(segmentId, version, profileKey, type, T, n),
    };
    this.ctx.emit(record);
  }

  /**
   * The definitions changed since this profile was last evaluated: drop leaves no rule uses, retire
   * memberships of versions no longer computed (an announced one hands over to the segment's active
   * version, or exits), and evaluate every segment at the profile's clock.
   */
  reconcileIfNeeded(): void {
    const s = this.state;
    if (s.d === this.defs.fingerprint) return;
    for (const id of Object.keys(s.l)) if (!this.defs.leaves.has(id)) delete s.l[id];
    this.handovers = new Map();
    for (const [key, slot] of Object.entries(s.m)) {
      if (this.defs.byKey.has(key)) continue;
      const at = key.lastIndexOf('@');
      const id = key.slice(0, at);
      const version = Number(key.slice(at + 1));
      if ((slot[0] & MEMBER) !== 0) {
        this.ctx.putIndex(memberIndexKey(id, version, this.ctx.key), undefined);
        this.ctx.addToCounter(key, -1);
      }
      if ((slot[0] & ANNOUNCED) !== 0) {
        const previous = this.handovers.get(id);
        if (!previous || previous.version < version) this.handovers.set(id, { version, n: slot[2] });
      }
      delete s.m[key];
    }
    s.d = this.defs.fingerprint;
    this.settle(s.e, ALL);
    for (const [id, { version, n }] of this.handovers) this.emit('exit', id, version, s.e, n + 1);
    this.handovers = undefined;
  }

  mergeLeaves(other: SegmentsState, T: number): void {
    const s = this.state;
    for (const [id, value] of Object.entries(other.l)) {
      const leaf = this.defs.leaves.get(id);
      if (!leaf) continue;
      const mine = this.leafState(leaf);
      const merged =
        leaf.kind === 'sequence'
          ? mergeSequence(leaf, mine, value, T, this.opts.maxSequenceEntries)
          : mergeWindow(leaf, mine, value, T, this.opts);
      if (merged === undefined) delete s.l[id];
      else s.l[id] = merged;
    }
  }

  /** The profile was merged into another: every membership ends (the survivor re-evaluates with the merged leaves). */
  exitAll(T: number): void {
    const s = this.state;
    for (const [key, slot] of Object.entries(s.m)) {
      const seg = this.defs.byKey.get(key);
      const at = key.lastIndexOf('@');
      const id = seg?.id ?? key.slice(0, at);
      const version = seg?.version ?? Number(key.slice(at + 1));
      if ((slot[0] & MEMBER) !== 0) {
        this.ctx.putIndex(memberIndexKey(id, version, this.ctx.key), undefined);
        this.ctx.addToCounter(key, -1);
        if ((slot[0] & ANNOUNCED) !== 0) this.emit('exit', id, version, T, slot[2] + 1);
      }
    }
    s.m = {};
  }

  /** Re-arms the wake-up timer at the earliest pending change and stores the state. */
  finish(): void {
    const s = this.state;
    for (const key in s.m) {
      const slot = s.m[key]!;
      if (slot[0] === 0 && slot.length === 3 && slot[1] < s.e) delete s.m[key];
    }
    const next = this.nextPending();
    if (next !== s.w) {
      if (s.w !== undefined) this.ctx.deleteTimer(s.w, 'event', WAKE);
      if (next !== undefined) this.ctx.registerTimer(next, 'event', WAKE);
      if (next === undefined) delete s.w;
      else s.w = next;
    }
    this.store();
  }

  /** Encodes the state in place (times relative to `e`) and stores it. */
  store(): void {
    shiftTimes(this.defs, this.state, -this.state.e);
    this.ctx.setState(this.state);
  }
}

/**
 * Brings one stored profile state to `defs` as of instant T, exactly as its next touch would:
 * reconcile (retired versions hand over or exit, new versions are evaluated), then every pending change
 * up to T. Used by backfill switches, which run while the partition's task is paused.
 */
export function reconcileStoredProfile(
  defs: CompiledDefinitions,
  opts: ResolvedSegmentsOperatorOptions,
  ctx: KeyedContext,
  state: SegmentsState,
  T: number,
  encoded: boolean,
): void {
  delete state.d;
  const run = new Evaluation(defs, opts).begin(ctx, state, encoded);
  run.reconcileIfNeeded();
  run.catchUp(T, true);
  state.e = Math.max(state.e, T);
  run.finish();
}

/**
 * Stored form: every time in the state except `e` is kept relative to `e` (t − e), so a stored state
 * holds short integers instead of 13-digit epoch milliseconds (about 40 % fewer bytes in JSON, int32
 * instead of float64 in msgpack). Decoding shifts them back in place; leaves the definitions no longer
 * use are dropped (their layout is unknown; a reconcile would drop them anyway).
 */
export function decodeSegmentsState(defs: CompiledDefinitions, state: SegmentsState): SegmentsState {
  shiftTimes(defs, state, state.e);
  return state;
}

function shiftTimes(defs: CompiledDefinitions, state: SegmentsState, delta: number): void {
  for (const id in state.l) {
    const leaf = defs.leaves.get(id);
    if (!leaf) {
      delete state.l[id];
      continue;
    }
    shiftLeaf(leaf, state.l[id], delta);
  }
  for (const key in state.m) {
    const slot = state.m[key]!;
    // A slot that never changed has no transition time.
    if (slot[2] !== 0) slot[1] += delta;
    if (slot.length > 3) slot[3]! += delta;
  }
  if (state.w !== undefined) state.w += delta;
}
