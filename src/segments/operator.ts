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
  type SequenceLeaf,
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
import { changeId, changeIdAfter, changeIdSeed, memberIndexKey } from './membership.js';
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
 * relative to `e` (see decodeSegmentsState); a call reads it into its working arrays (shifting the
 * leaf states in place) and writes it back when it stores.
 */
export interface SegmentsState {
  /** The profile's evaluation clock: membership has been evaluated up to this event-time instant. */
  e: number;
  /**
   * The registered wake-up timer: at or before the earliest next change of any segment (it only moves
   * earlier; one that fires early finds nothing due and re-arms at the next change).
   */
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
  const otherLeaves: unknown[] = new Array<unknown>(defs.leafList.length);
  return {
    name: SEGMENTS_OPERATOR,
    processElement(event, ctx) {
      const existing = ctx.getState<SegmentsState>();
      const t = event.eventTimeMs;
      const target = Math.max(t, ctx.watermarkMs);
      if (existing) run.begin(ctx, existing, true);
      else {
        run.beginEmpty(ctx, target);
        run.fresh = true;
      }
      run.handle(event, target);
      run.finish();
    },
    onTimer(timer: FiredTimer, ctx) {
      if (timer.tag !== WAKE) return;
      const state = ctx.getState<SegmentsState>();
      if (!state) return;
      run.begin(ctx, state, true);
      if (run.w === timer.timeMs) run.w = undefined;
      run.reconcileIfNeeded();
      run.catchUp(timer.timeMs, true);
      run.e = Math.max(run.e, timer.timeMs);
      run.finish();
    },
    merge(from, ctx) {
      if (!from) return;
      // Read into fresh objects: the sealed profile's cached state must stay as stored.
      const other = from as SegmentsState;
      loadLeaves(defs, other, true, true, otherLeaves);
      const existing = ctx.getState<SegmentsState>();
      const T = Math.max(existing?.e ?? -Infinity, other.e, ctx.watermarkMs);
      if (existing) run.begin(ctx, existing, true);
      else run.beginEmpty(ctx, T);
      run.reconcileIfNeeded();
      run.catchUp(T, false);
      run.mergeLeaves(otherLeaves, T);
      otherLeaves.fill(undefined);
      run.e = Math.max(run.e, T);
      // The linking message is processed right after the merge: every segment is evaluated then, at its
      // event time (the instant the two histories became one profile).
      run.x = true;
      run.store();
    },
    onSeal(ctx) {
      const state = ctx.getState<SegmentsState>();
      if (!state) return;
      run.begin(ctx, state, true);
      run.exitAll(Math.max(run.e, ctx.watermarkMs));
      // The task drops the key's timers; the leaves stay for the survivor's merge.
      run.w = undefined;
      run.store();
    },
  };
}

const ALL = 'all' as const;
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

/** Change-id seeds of the compiled segments, by segment index (computed once per set of definitions). */
const seedCaches = new WeakMap<CompiledDefinitions, readonly Int32Array[]>();
function seedsOf(defs: CompiledDefinitions): readonly Int32Array[] {
  let seeds = seedCaches.get(defs);
  if (!seeds) seedCaches.set(defs, (seeds = defs.segments.map((s) => changeIdSeed(s.id, s.version))));
  return seeds;
}

/** A membership slot whose version the definitions no longer compute (until the reconcile retires it). */
interface ForeignSlot {
  readonly key: string;
  flags: number;
  since: number;
  n: number;
  next: number;
  order: number;
}

/**
 * Reads the leaf states of a state into `out` (by leaf index, absolute times). `encoded`: the times
 * are relative to `e` (the stored form). `copy`: the state must stay as it is (else its leaf states
 * are shifted in place and taken over, and leaves the definitions do not use are deleted from it:
 * their layout is unknown, a reconcile would drop them anyway).
 */
function loadLeaves(
  defs: CompiledDefinitions,
  state: SegmentsState,
  encoded: boolean,
  copy: boolean,
  out: unknown[],
): void {
  const l = state.l;
  for (const id in l) {
    const leaf = defs.leaves.get(id);
    if (!leaf) {
      if (!copy) delete l[id];
      continue;
    }
    const value = copy ? structuredClone(l[id]) : l[id];
    if (encoded) shiftLeaf(leaf, value, state.e);
    out[leaf.index] = value;
  }
}

/**
 * Evaluates one operator call on one profile. One instance per operator, re-bound for every call
 * (`begin`) — calls never nest — so the hot path allocates no evaluator and its work arrays are reused.
 * The profile's state is held decoded (absolute times) in arrays by leaf and segment index while the
 * call runs, and written back in its stored form by `store`.
 */
class Evaluation {
  fresh = false;
  private traits: Record<string, unknown> | undefined = undefined;
  private tracesLoaded = false;
  /** Announced memberships of retired versions, waiting to be handed over to the active version (reconcile). */
  private handovers: Map<string, { version: number; n: number }> | undefined = undefined;
  private ctx!: KeyedContext;
  /** The state object the call was bound to (its leaf states are the working ones); written back by `store`. */
  private bound: SegmentsState | undefined = undefined;

  /** The profile's evaluation clock. */
  e = 0;
  /** The registered wake-up timer. */
  w: number | undefined = undefined;
  /** Fingerprint of the definitions the state was last reconciled with. */
  private d: string | undefined = undefined;
  /** Set by an identity merge: the next element evaluates every segment. */
  x = false;
  /** Leaf states by leaf index (undefined: none). */
  private readonly leaves: unknown[];
  /** Membership slots by segment index: whether there is one, and its fields (see MemberSlot). */
  private readonly has: Uint8Array;
  private readonly flags: Uint8Array;
  private readonly since: Float64Array;
  private readonly changes: Float64Array;
  /** Next change instant; NaN when none (and when there is no slot). */
  private readonly next: Float64Array;
  /** Creation order of the slots (the stored order; exits at a seal follow it). */
  private readonly order: Float64Array;
  private created = 0;
  private foreign: ForeignSlot[] = [];
  /** The leaf states and slot arrays as read from the bound state (written back in place when unchanged in kind). */
  private readonly loadedLeaves: unknown[];
  private readonly loadedSlots: (MemberSlot | undefined)[];
  /** A slot was created or removed (or a foreign one dropped) since the bind: `m` is rebuilt in order. */
  private slotsChanged = false;

  /** Per-segment "evaluate now" marks. */
  private readonly marks: Uint8Array;
  private readonly candidates: number[] = [];
  private readonly sequenceMasks: Int32Array;
  private readonly sequenceTouched: number[] = [];
  private readonly slotOrder: number[] = [];
  private readonly seeds: readonly Int32Array[];

  constructor(
    private readonly defs: CompiledDefinitions,
    private readonly opts: ResolvedSegmentsOperatorOptions,
  ) {
    const segmentCount = defs.segments.length;
    this.marks = new Uint8Array(segmentCount);
    this.has = new Uint8Array(segmentCount);
    this.flags = new Uint8Array(segmentCount);
    this.since = new Float64Array(segmentCount);
    this.changes = new Float64Array(segmentCount);
    this.next = new Float64Array(segmentCount).fill(NaN);
    this.order = new Float64Array(segmentCount);
    this.leaves = new Array<unknown>(defs.leafList.length).fill(undefined);
    this.loadedLeaves = new Array<unknown>(defs.leafList.length).fill(undefined);
    this.loadedSlots = new Array<MemberSlot | undefined>(segmentCount).fill(undefined);
    this.sequenceMasks = new Int32Array(defs.leafList.length);
    this.seeds = seedsOf(defs);
  }

  private reset(ctx: KeyedContext): void {
    this.ctx = ctx;
    this.fresh = false;
    this.traits = undefined;
    this.tracesLoaded = false;
    this.handovers = undefined;
    this.leaves.fill(undefined);
    this.loadedLeaves.fill(undefined);
    this.loadedSlots.fill(undefined);
    this.slotsChanged = false;
    this.has.fill(0);
    this.flags.fill(0);
    this.next.fill(NaN);
    this.created = 0;
    if (this.foreign.length > 0) this.foreign = [];
    this.x = false;
  }

  /** Binds a call to a profile without segments state, its clock at `e`. */
  beginEmpty(ctx: KeyedContext, e: number): this {
    this.reset(ctx);
    this.bound = undefined;
    this.e = e;
    this.w = undefined;
    this.d = this.defs.fingerprint;
    return this;
  }

  /** Binds a call. `encoded`: the state is in its stored form (times relative to `e`); it is decoded in place. */
  begin(ctx: KeyedContext, state: SegmentsState, encoded: boolean): this {
    this.reset(ctx);
    this.bound = state;
    const shift = encoded ? state.e : 0;
    this.e = state.e;
    this.w = state.w === undefined ? undefined : state.w + shift;
    this.d = state.d;
    this.x = state.x === 1;
    loadLeaves(this.defs, state, encoded, false, this.leaves);
    for (let i = 0; i < this.leaves.length; i++) this.loadedLeaves[i] = this.leaves[i];
    for (const key in state.m) {
      const slot = state.m[key]!;
      // A slot that never changed has no transition time.
      const since = slot[2] !== 0 ? slot[1] + shift : slot[1];
      const index = this.addSlot(key, slot[0], since, slot[2], slot.length > 3 ? slot[3]! + shift : NaN);
      if (index >= 0) this.loadedSlots[index] = slot;
    }
    return this;
  }

  /** Returns the segment index of the slot, or -1 for a foreign one. */
  private addSlot(key: string, flags: number, since: number, n: number, next: number): number {
    const seg = this.defs.byKey.get(key);
    if (!seg) {
      this.foreign.push({ key, flags, since, n, next, order: this.created++ });
      return -1;
    }
    const i = seg.index;
    this.has[i] = 1;
    this.flags[i] = flags;
    this.since[i] = since;
    this.changes[i] = n;
    this.next[i] = next;
    this.order[i] = this.created++;
    return i;
  }

  private createSlot(i: number): void {
    this.slotsChanged = true;
    this.has[i] = 1;
    this.flags[i] = 0;
    this.since[i] = 0;
    this.changes[i] = 0;
    this.next[i] = NaN;
    this.order[i] = this.created++;
  }

  private removeSlot(i: number): void {
    this.slotsChanged = true;
    this.has[i] = 0;
    this.flags[i] = 0;
    this.next[i] = NaN;
  }

  handle(event: KairosEvent, target: number): void {
    if (this.fresh) {
      this.settleAfterInsert(event, target, true);
      return;
    }
    this.reconcileIfNeeded();
    this.catchUp(target, false);
    const merged = this.x;
    this.x = false;
    this.settleAfterInsert(event, target, merged);
  }

  private settleAfterInsert(event: KairosEvent, target: number, all: boolean): void {
    const T = Math.max(this.e, target);
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
    this.settle(T, all ? ALL : MARKED);
    this.e = T;
  }

  private markUsers(leaf: Leaf): void {
    const marks = this.marks;
    const users = this.defs.leafUsersByIndex[leaf.index]!;
    for (let k = 0; k < users.length; k++) marks[users[k]!] = 1;
  }

  /** Adds the event to every leaf it matches; marks the users of changed leaves dirty. */
  private insert(event: KairosEvent, T: number): 'none' | 'accepted' | 'late-only' {
    const leaves = this.leaves;
    const masks = this.sequenceMasks;
    const touched = this.sequenceTouched;
    let matched = false;
    let accepted = false;
    const entries = entriesFor(this.defs, event);
    for (let k = 0; k < entries.length; k++) {
      const { leaf, filter } = entries[k]!;
      if (!leaf.filters[filter]!.where(event)) continue;
      if (leaf.kind === 'sequence') {
        if (masks[leaf.index] === 0) touched.push(leaf.index);
        masks[leaf.index]! |= 1 << filter;
        continue;
      }
      const contribution = windowContribution(leaf, event);
      if (contribution === undefined) continue;
      matched = true;
      const next = insertWindow(leaf, leaves[leaf.index], contribution, event.eventTimeMs, T, this.opts);
      if (next === undefined) continue;
      accepted = true;
      leaves[leaf.index] = next;
      this.markUsers(leaf);
    }
    if (touched.length > 0) {
      for (let k = 0; k < touched.length; k++) {
        const index = touched[k]!;
        const mask = masks[index]!;
        masks[index] = 0;
        const leaf = this.defs.leafList[index] as SequenceLeaf;
        matched = true;
        const next = insertSequence(leaf, leaves[index], event.eventTimeMs, mask, T, this.opts.maxSequenceEntries);
        if (next === undefined) continue;
        accepted = true;
        leaves[index] = next;
        this.markUsers(leaf);
      }
      touched.length = 0;
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
      if (c > this.e) this.e = c;
    }
  }

  private nextPending(): number | undefined {
    let min = Infinity;
    const next = this.next;
    for (let i = 0; i < next.length; i++) if (next[i]! < min) min = next[i]!;
    for (const slot of this.foreign) if (slot.next < min) min = slot.next;
    return min === Infinity ? undefined : min;
  }

  /**
   * Evaluates, at instant T and in dependency order, the segments that are dirty, due (their next
   * change ≤ T) or that reference a segment which changed just now; records transitions.
   */
  settle(T: number, dirty: typeof ALL | typeof MARKED): void {
    const segments = this.defs.segments;
    const marks = this.marks;
    const next = this.next;
    const flags = this.flags;
    if (dirty === ALL) marks.fill(1);
    // NaN (no next change) compares false.
    for (let i = 0; i < next.length; i++) if (next[i]! <= T) marks[i] = 1;
    // Dependency order: a segment's dependents come after it, so a change marks them before they are reached.
    for (let i = 0; i < segments.length; i++) {
      if (marks[i] === 0) continue;
      marks[i] = 0;
      const seg = segments[i]!;
      const truth = this.evaluate(seg.root, T);
      const was = this.has[i] === 1 && (flags[i]! & MEMBER) !== 0;
      if (truth !== was) {
        this.transition(seg, truth, T);
        if (seg.active) {
          const dependents = this.defs.dependentsByIndex[i]!;
          for (let k = 0; k < dependents.length; k++) marks[dependents[k]!] = 1;
        }
      } else if (truth && seg.active && (flags[i]! & ANNOUNCED) === 0) {
        this.announce(seg, T);
      }
      this.setNextChange(i, this.nextChange(seg, T, truth));
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
        return node.test(windowValue(node.leaf, this.leaves[node.leaf.index], T, node.withinMs));
      case 'seq':
        return holdsSequence(node.leaf, this.leaves[node.leaf.index], T);
      case 'trait':
        return node.test(valueAt(this.loadTraits(), node.parts));
      case 'in':
        return node.index >= 0 && this.has[node.index] === 1 && (this.flags[node.index]! & MEMBER) !== 0;
    }
  }

  private loadTraits(): Record<string, unknown> | undefined {
    if (!this.tracesLoaded) {
      this.traits = this.ctx.readState<ProfileState>(PROFILE_OPERATOR)?.tr;
      this.tracesLoaded = true;
    }
    return this.traits;
  }

  /** The first instant after T at which the segment's truth differs from `truth` with no new event (NaN: none). */
  private nextChange(seg: CompiledSegment, T: number, truth: boolean): number {
    // Most rules can only move one way by time alone (a count above a threshold can only drop out).
    if (seg.drift === 'none' || (truth ? seg.drift === 'up' : seg.drift === 'down')) return NaN;
    const candidates = this.candidates;
    candidates.length = 0;
    const sources = seg.sources;
    for (let k = 0; k < sources.length; k++) {
      const { leaf, withinMs } = sources[k]!;
      const state = this.leaves[leaf.index];
      if (state === undefined) continue;
      if (leaf.kind === 'sequence') sequenceChanges(leaf, state, T, candidates);
      else windowChanges(leaf, state, T, withinMs, candidates);
    }
    if (candidates.length === 0) return NaN;
    if (candidates.length > 1) candidates.sort(ascending);
    let tried = 0;
    let last = NaN;
    for (let k = 0; k < candidates.length; k++) {
      const c = candidates[k]!;
      if (c === last) continue;
      last = c;
      if (this.evaluate(seg.root, c) !== truth) return c;
      if (++tried >= SEARCH_LIMIT) return c;
    }
    return NaN;
  }

  private setNextChange(i: number, nc: number): void {
    if (this.has[i] === 0) {
      if (!Number.isNaN(nc)) {
        this.createSlot(i);
        this.next[i] = nc;
      }
      return;
    }
    if (Number.isNaN(nc)) {
      this.next[i] = NaN;
      // Nothing to remember once out and past its last transition (or never in).
      if (this.flags[i] === 0 && (this.changes[i] === 0 || this.since[i]! < this.e)) this.removeSlot(i);
    } else {
      this.next[i] = nc;
    }
  }

  private transition(seg: CompiledSegment, enter: boolean, T: number): void {
    const i = seg.index;
    if (this.has[i] === 0) this.createSlot(i);
    this.changes[i]! += 1;
    const indexKey = seg.indexPrefix + this.ctx.key;
    if (enter) {
      this.flags[i]! |= MEMBER;
      this.since[i] = T;
      this.ctx.putIndex(indexKey, T);
      this.ctx.addToCounter(seg.key, 1);
      if (seg.active) this.announce(seg, T);
    } else {
      this.flags[i]! &= ~MEMBER;
      this.since[i] = T;
      this.ctx.putIndex(indexKey, undefined);
      this.ctx.addToCounter(seg.key, -1);
      if ((this.flags[i]! & ANNOUNCED) !== 0) {
        this.flags[i]! &= ~ANNOUNCED;
        this.emit('exit', seg.id, seg.version, T, this.changes[i]!, this.seeds[i]);
      }
    }
  }

  /** An active version's membership becomes visible: an enter record, unless a retired version's announced membership hands over. */
  private announce(seg: CompiledSegment, T: number): void {
    if (!this.opts.emit) return;
    this.flags[seg.index]! |= ANNOUNCED;
    if (this.handovers?.delete(seg.id)) return;
    this.emit('enter', seg.id, seg.version, T, this.changes[seg.index]!, this.seeds[seg.index]);
  }

  private emit(
    type: 'enter' | 'exit',
    segmentId: string,
    version: number,
    T: number,
    n: number,
    seed: Int32Array | undefined,
  ): void {
    const profileKey = this.ctx.key;
    const record: MembershipChange = {
      kind: 'segment',
      type,
      segmentId,
      version,
      profileKey,
      eventTimeMs: T,
      id: seed ? changeIdAfter(seed, profileKey, type, T, n) : changeId(segmentId, version, profileKey, type, T, n),
    };
    this.ctx.emit(record);
  }

  /**
   * The definitions changed since this profile was last evaluated: drop leaves no rule uses, retire
   * memberships of versions no longer computed (an announced one hands over to the segment's active
   * version, or exits), and evaluate every segment at the profile's clock.
   */
  reconcileIfNeeded(): void {
    if (this.d === this.defs.fingerprint) return;
    // Leaves no rule uses were dropped when the state was read.
    this.handovers = new Map();
    for (const slot of this.foreign) {
      const at = slot.key.lastIndexOf('@');
      const id = slot.key.slice(0, at);
      const version = Number(slot.key.slice(at + 1));
      if ((slot.flags & MEMBER) !== 0) {
        this.ctx.putIndex(memberIndexKey(id, version, this.ctx.key), undefined);
        this.ctx.addToCounter(slot.key, -1);
      }
      if ((slot.flags & ANNOUNCED) !== 0) {
        const previous = this.handovers.get(id);
        if (!previous || previous.version < version) this.handovers.set(id, { version, n: slot.n });
      }
    }
    if (this.foreign.length > 0) this.slotsChanged = true;
    this.foreign = [];
    this.d = this.defs.fingerprint;
    this.settle(this.e, ALL);
    for (const [id, { version, n }] of this.handovers) this.emit('exit', id, version, this.e, n + 1, undefined);
    this.handovers = undefined;
  }

  mergeLeaves(other: readonly unknown[], T: number): void {
    const leaves = this.leaves;
    for (let i = 0; i < other.length; i++) {
      const value = other[i];
      if (value === undefined) continue;
      const leaf = this.defs.leafList[i]!;
      leaves[i] =
        leaf.kind === 'sequence'
          ? mergeSequence(leaf, leaves[i], value, T, this.opts.maxSequenceEntries)
          : mergeWindow(leaf, leaves[i], value, T, this.opts);
    }
  }

  /** Every slot (foreign ones as −1 − their position), in creation order. */
  private slotsInOrder(): readonly number[] {
    const out = this.slotOrder;
    out.length = 0;
    for (let i = 0; i < this.has.length; i++) if (this.has[i] === 1) out.push(i);
    for (let j = 0; j < this.foreign.length; j++) out.push(-1 - j);
    if (out.length > 1) out.sort((a, b) => this.orderOf(a) - this.orderOf(b));
    return out;
  }

  private orderOf(slot: number): number {
    return slot >= 0 ? this.order[slot]! : this.foreign[-1 - slot]!.order;
  }

  /** The profile was merged into another: every membership ends (the survivor re-evaluates with the merged leaves). */
  exitAll(T: number): void {
    for (const slot of this.slotsInOrder()) {
      const foreign = slot < 0 ? this.foreign[-1 - slot]! : undefined;
      const seg = foreign ? undefined : this.defs.segments[slot]!;
      const flags = foreign ? foreign.flags : this.flags[slot]!;
      if ((flags & MEMBER) === 0) continue;
      const key = foreign ? foreign.key : seg!.key;
      const at = key.lastIndexOf('@');
      const id = seg?.id ?? key.slice(0, at);
      const version = seg?.version ?? Number(key.slice(at + 1));
      const n = foreign ? foreign.n : this.changes[slot]!;
      this.ctx.putIndex(memberIndexKey(id, version, this.ctx.key), undefined);
      this.ctx.addToCounter(key, -1);
      if ((flags & ANNOUNCED) !== 0) this.emit('exit', id, version, T, n + 1, seg ? this.seeds[slot] : undefined);
    }
    this.has.fill(0);
    this.flags.fill(0);
    this.next.fill(NaN);
    this.foreign = [];
    this.slotsChanged = true;
  }

  /** Re-arms the wake-up timer at the earliest pending change and stores the state. */
  finish(): void {
    const e = this.e;
    for (let i = 0; i < this.has.length; i++) {
      if (this.has[i] === 1 && this.flags[i] === 0 && Number.isNaN(this.next[i]!) && this.since[i]! < e)
        this.removeSlot(i);
    }
    if (this.foreign.length > 0) {
      const kept = this.foreign.filter((slot) => !(slot.flags === 0 && Number.isNaN(slot.next) && slot.since < e));
      if (kept.length !== this.foreign.length) this.slotsChanged = true;
      this.foreign = kept;
    }
    // The wake-up timer only ever moves earlier: a registered one at or before the earliest pending
    // change stays (it fires early, finds nothing due and re-arms), so an event that pushes a window's
    // expiry later costs no timer delete + register (two timer-store writes).
    const next = this.nextPending();
    if (next !== undefined && (this.w === undefined || next < this.w)) {
      if (this.w !== undefined) this.ctx.deleteTimer(this.w, 'event', WAKE);
      this.ctx.registerTimer(next, 'event', WAKE);
      this.w = next;
    }
    this.store();
  }

  /** Writes the state back in its stored form (times relative to `e`, leaf states shifted in place) and stores it. */
  store(): void {
    const e = this.e;
    const shift = -e;
    const leafList = this.defs.leafList;
    const state: SegmentsState = this.bound ?? { e, l: {}, m: {} };
    const l = state.l;
    for (let i = 0; i < leafList.length; i++) {
      const leaf = leafList[i]!;
      const value = this.leaves[i];
      const loaded = this.loadedLeaves[i];
      if (value === undefined) {
        if (loaded !== undefined) delete l[leaf.id];
        continue;
      }
      shiftLeaf(leaf, value, shift);
      if (value !== loaded) l[leaf.id] = value;
    }
    if (this.bound && !this.slotsChanged) {
      // Same slots in the same order: update their arrays in place.
      for (let i = 0; i < this.has.length; i++) {
        if (this.has[i] === 0) continue;
        const slot = this.loadedSlots[i]!;
        const n = this.changes[i]!;
        slot[0] = this.flags[i]!;
        slot[1] = n !== 0 ? this.since[i]! + shift : this.since[i]!;
        slot[2] = n;
        const next = this.next[i]!;
        if (Number.isNaN(next)) {
          if (slot.length > 3) slot.pop();
        } else {
          slot[3] = next + shift;
        }
      }
      for (const foreign of this.foreign) {
        const slot = state.m[foreign.key]!;
        slot[0] = foreign.flags;
        slot[1] = foreign.n !== 0 ? foreign.since + shift : foreign.since;
        slot[2] = foreign.n;
        if (Number.isNaN(foreign.next)) {
          if (slot.length > 3) slot.pop();
        } else {
          slot[3] = foreign.next + shift;
        }
      }
    } else {
      state.m = this.buildSlots(shift);
    }
    state.e = e;
    if (this.d === undefined) delete state.d;
    else state.d = this.d;
    if (this.w === undefined) delete state.w;
    else state.w = this.w + shift;
    if (this.x) state.x = 1;
    else delete state.x;
    // The leaf states now belong to the stored form.
    this.leaves.fill(undefined);
    this.bound = undefined;
    this.ctx.setState(state);
  }

  private buildSlots(shift: number): Record<string, MemberSlot> {
    const m: Record<string, MemberSlot> = {};
    for (const slot of this.slotsInOrder()) {
      const foreign = slot < 0 ? this.foreign[-1 - slot]! : undefined;
      const flags = foreign ? foreign.flags : this.flags[slot]!;
      const n = foreign ? foreign.n : this.changes[slot]!;
      const since = foreign ? foreign.since : this.since[slot]!;
      const next = foreign ? foreign.next : this.next[slot]!;
      // A slot that never changed has no transition time.
      const at = n !== 0 ? since + shift : since;
      m[foreign ? foreign.key : this.defs.segments[slot]!.key] = Number.isNaN(next)
        ? [flags, at, n]
        : [flags, at, n, next + shift];
    }
    return m;
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
  run.e = Math.max(run.e, T);
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
