import type { KairosEvent } from '../core/index.js';
import { toNumber, type SequenceLeaf, type WindowLeaf } from './compile.js';
import type { ResolvedSegmentsOperatorOptions } from './options.js';
import { valueAt } from './paths.js';

/**
 * Per-profile state of one condition leaf, kept compact and bounded (DESIGN.md §8).
 *
 * Every windowed entry carries an "effective time" `te`: the event time itself for short windows
 * (exact), or the last millisecond of its time bucket for long ones. An entry is inside a window of
 * length `within` at instant T iff `te > T − within` — the window is the half-open interval
 * (T − within, T], so an event exactly `within` old is out — and it leaves that window at `te + within`.
 * A leaf keeps entries for the longest window of the conditions sharing it.
 *
 * - count: per group, ascending times (exact) or pairs [te, weight] (buckets); only the newest entries
 *   whose weights reach `cap` are kept (min(count, cap) decides every comparison of the rules, for every
 *   window: the entries inside a window are always the newest ones), at most `maxGroups` groups.
 * - sum: pairs [te, amount] ascending; at most `maxSumEntries` (then the two oldest merge at the later time).
 * - distinct: value → latest te; only the `cap` values seen last are kept.
 * - sequence: pairs [t, stepMask] ascending; at most `maxSequenceEntries` (the oldest is dropped),
 *   nothing older than `within` when the sequence has one, and nothing before the latest event of a
 *   trailing `absent` step that could only serve as the last step.
 */
export type CountState = Record<string, number[]>;
export type SumState = number[];
export type DistinctState = Record<string, number>;
export type SequenceState = number[];

export function effectiveTime(leaf: WindowLeaf, t: number): number {
  if (leaf.bucketMs === 0) return t;
  return Math.floor(t / leaf.bucketMs) * leaf.bucketMs + leaf.bucketMs - 1;
}

/** The group / distinct key of a value: strings, finite numbers and booleans; anything else does not count. */
function keyOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

/** What the event contributes to a window leaf, or undefined when it lacks the leaf's `by`/`of` value. */
export function windowContribution(leaf: WindowLeaf, event: KairosEvent): string | number | undefined {
  switch (leaf.kind) {
    case 'count':
      return leaf.groupBy ? keyOf(valueAt(event, leaf.groupBy)) : '';
    case 'sum':
      return toNumber(valueAt(event, leaf.of!));
    case 'distinct':
      return keyOf(valueAt(event, leaf.of!));
  }
}

/** Entries per item: bare times for exact counts, [te, weight] pairs otherwise. */
export function strideOf(leaf: WindowLeaf): 1 | 2 {
  return leaf.kind === 'count' && leaf.bucketMs === 0 ? 1 : 2;
}

/** Adds an event at `t`; returns the new state, or undefined when the entry is already out of the window at `T`. */
export function insertWindow(
  leaf: WindowLeaf,
  state: unknown,
  contribution: string | number,
  t: number,
  T: number,
  options: ResolvedSegmentsOperatorOptions,
): unknown {
  const te = effectiveTime(leaf, t);
  if (te + leaf.withinMs <= T) return undefined;
  switch (leaf.kind) {
    case 'count': {
      const groups = (state as CountState | undefined) ?? {};
      const group = contribution as string;
      const stride = strideOf(leaf);
      groups[group] = capWeights(add(groups[group] ?? [], te, 1, stride), leaf.cap, stride);
      pruneGroups(groups, leaf, T, options.maxGroups);
      return groups;
    }
    case 'sum': {
      let pairs = add((state as SumState | undefined) ?? [], te, contribution as number, 2);
      pairs = prune(pairs, leaf.withinMs, T, 2);
      return boundSum(pairs, options);
    }
    case 'distinct': {
      const values = (state as DistinctState | undefined) ?? {};
      const key = contribution as string;
      if ((values[key] ?? -Infinity) < te) values[key] = te;
      pruneDistinct(values, leaf, T);
      return values;
    }
  }
}

/** The leaf's value at instant T over a window of `withinMs` (at most the leaf's). */
export function windowValue(leaf: WindowLeaf, state: unknown, T: number, withinMs: number): number {
  if (state === undefined) return 0;
  const after = T - withinMs;
  switch (leaf.kind) {
    case 'count': {
      const stride = strideOf(leaf);
      const groups = state as CountState;
      let best = 0;
      for (const group in groups) {
        const n = weightAfter(groups[group]!, after, stride);
        if (n > best) best = n;
      }
      return Math.min(best, leaf.cap);
    }
    case 'sum':
      return round(weightAfter(state as SumState, after, 2));
    case 'distinct': {
      const values = state as DistinctState;
      let n = 0;
      for (const key in values) if (values[key]! > after) n++;
      return Math.min(n, leaf.cap);
    }
  }
}

/** Instants after T at which an entry leaves a window of `withinMs` (when the value may change without events). */
export function windowChanges(leaf: WindowLeaf, state: unknown, T: number, withinMs: number, out: number[]): void {
  if (state === undefined) return;
  switch (leaf.kind) {
    case 'count': {
      const stride = strideOf(leaf);
      const groups = state as CountState;
      for (const group in groups) changes(groups[group]!, T, withinMs, stride, out);
      break;
    }
    case 'sum':
      changes(state as SumState, T, withinMs, 2, out);
      break;
    case 'distinct': {
      const values = state as DistinctState;
      for (const key in values) if (values[key]! + withinMs > T) out.push(values[key]! + withinMs);
      break;
    }
  }
}

/** Drops what is out of the window at T (T only grows, so it is never needed again); undefined when empty. */
export function pruneWindow(
  leaf: WindowLeaf,
  state: unknown,
  T: number,
  options: ResolvedSegmentsOperatorOptions,
): unknown {
  if (state === undefined) return undefined;
  switch (leaf.kind) {
    case 'count': {
      const groups = state as CountState;
      pruneGroups(groups, leaf, T, options.maxGroups);
      return Object.keys(groups).length === 0 ? undefined : groups;
    }
    case 'sum': {
      const pairs = prune(state as SumState, leaf.withinMs, T, 2);
      return pairs.length === 0 ? undefined : pairs;
    }
    case 'distinct': {
      const values = state as DistinctState;
      pruneDistinct(values, leaf, T);
      return Object.keys(values).length === 0 ? undefined : values;
    }
  }
}

/** Folds two states of the same leaf (identity merge). */
export function mergeWindow(
  leaf: WindowLeaf,
  a: unknown,
  b: unknown,
  T: number,
  options: ResolvedSegmentsOperatorOptions,
): unknown {
  if (a === undefined) return pruneWindow(leaf, structuredClone(b), T, options);
  if (b === undefined) return pruneWindow(leaf, a, T, options);
  switch (leaf.kind) {
    case 'count': {
      const groups = a as CountState;
      const stride = strideOf(leaf);
      for (const [group, list] of Object.entries(b as CountState)) {
        let merged = groups[group] ?? [];
        for (let i = 0; i < list.length; i += stride)
          merged = add(merged, list[i]!, stride === 1 ? 1 : list[i + 1]!, stride);
        groups[group] = capWeights(merged, leaf.cap, stride);
      }
      return pruneWindow(leaf, groups, T, options);
    }
    case 'sum': {
      let pairs = a as SumState;
      const other = b as SumState;
      for (let i = 0; i < other.length; i += 2) pairs = add(pairs, other[i]!, other[i + 1]!, 2);
      pairs = boundSum(prune(pairs, leaf.withinMs, T, 2), options);
      return pairs.length === 0 ? undefined : pairs;
    }
    case 'distinct': {
      const values = a as DistinctState;
      for (const [key, te] of Object.entries(b as DistinctState)) if ((values[key] ?? -Infinity) < te) values[key] = te;
      return pruneWindow(leaf, values, T, options);
    }
  }
}

/** Adds `delta` to every time of a leaf state, in place (the stored form keeps times relative to the profile clock). */
export function shiftLeaf(leaf: WindowLeaf | SequenceLeaf, state: unknown, delta: number): void {
  if (state === undefined || delta === 0) return;
  if (leaf.kind === 'sequence' || leaf.kind === 'sum') {
    shiftList(state as number[], delta, 2);
  } else if (leaf.kind === 'count') {
    const stride = strideOf(leaf);
    const groups = state as CountState;
    for (const group in groups) shiftList(groups[group]!, delta, stride);
  } else {
    const values = state as DistinctState;
    for (const key in values) values[key]! += delta;
  }
}

function shiftList(list: number[], delta: number, stride: 1 | 2): void {
  for (let i = 0; i < list.length; i += stride) list[i]! += delta;
}

// ---- entry lists (stride 1: ascending times, weight 1 each; stride 2: ascending [te, weight] pairs) ----

function add(list: number[], te: number, weight: number, stride: 1 | 2): number[] {
  let i = list.length;
  while (i > 0 && list[i - stride]! > te) i -= stride;
  if (stride === 1) {
    list.splice(i, 0, te);
    return list;
  }
  if (i > 0 && list[i - 2] === te) {
    list[i - 1] = round(list[i - 1]! + weight);
    return list;
  }
  list.splice(i, 0, te, weight);
  return list;
}

function weightAfter(list: readonly number[], after: number, stride: 1 | 2): number {
  let total = 0;
  for (let i = list.length - stride; i >= 0 && list[i]! > after; i -= stride) total += stride === 1 ? 1 : list[i + 1]!;
  return total;
}

function changes(list: readonly number[], T: number, withinMs: number, stride: 1 | 2, out: number[]): void {
  for (let i = 0; i < list.length; i += stride) {
    const leaves = list[i]! + withinMs;
    if (leaves > T) out.push(leaves);
  }
}

/** Keeps the newest entries whose weights reach `cap`: older ones leave every window first and cannot change min(count, cap). */
function capWeights(list: number[], cap: number, stride: 1 | 2): number[] {
  if (stride === 1) {
    if (list.length > cap) list.splice(0, list.length - cap);
    return list;
  }
  let total = 0;
  for (let i = list.length - 2; i >= 0; i -= 2) {
    total += list[i + 1]!;
    if (total >= cap) {
      if (i > 0) list.splice(0, i);
      return list;
    }
  }
  return list;
}

function prune(list: number[], withinMs: number, T: number, stride: 1 | 2): number[] {
  let drop = 0;
  while (drop < list.length && list[drop]! + withinMs <= T) drop += stride;
  if (drop > 0) list.splice(0, drop);
  return list;
}

function boundSum(pairs: number[], options: ResolvedSegmentsOperatorOptions): number[] {
  while (pairs.length > 2 * options.maxSumEntries) pairs.splice(0, 4, pairs[2]!, round(pairs[1]! + pairs[3]!));
  return pairs;
}

function pruneGroups(groups: CountState, leaf: WindowLeaf, T: number, maxGroups: number): void {
  const stride = strideOf(leaf);
  let count = 0;
  for (const key in groups) {
    const list = prune(groups[key]!, leaf.withinMs, T, stride);
    if (list.length === 0) delete groups[key];
    else count++;
  }
  if (count <= maxGroups) return;
  let remaining = Object.keys(groups);
  while (remaining.length > maxGroups) {
    // Drop the group that was active least recently (ties: the smallest key), deterministically.
    let victim = remaining[0]!;
    for (const key of remaining) {
      const newest = groups[key]![groups[key]!.length - stride]!;
      const victimNewest = groups[victim]![groups[victim]!.length - stride]!;
      if (newest < victimNewest || (newest === victimNewest && key < victim)) victim = key;
    }
    delete groups[victim];
    remaining = Object.keys(groups);
  }
}

function pruneDistinct(values: DistinctState, leaf: WindowLeaf, T: number): void {
  let count = 0;
  for (const key in values) {
    if (values[key]! + leaf.withinMs <= T) delete values[key];
    else count++;
  }
  if (count <= leaf.cap) return;
  const keys = Object.keys(values);
  // Keep the `cap` values seen last (ties: the smallest keys), deterministically.
  keys.sort((x, y) => values[y]! - values[x]! || (x < y ? -1 : x > y ? 1 : 0));
  for (const key of keys.slice(leaf.cap)) delete values[key];
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

// ---- sequences -----------------------------------------------------------------------------------

/** Adds an event matching the steps in `mask`; undefined when it cannot matter any more (older than `within`). */
export function insertSequence(
  leaf: SequenceLeaf,
  state: unknown,
  t: number,
  mask: number,
  T: number,
  maxEntries: number,
): SequenceState | undefined {
  if (leaf.withinMs !== undefined && t <= T - leaf.withinMs) return undefined;
  const pairs = (state as SequenceState | undefined) ?? [];
  let i = pairs.length;
  while (i > 0 && (pairs[i - 2]! > t || (pairs[i - 2] === t && pairs[i - 1]! > mask))) i -= 2;
  if (!(i > 0 && pairs[i - 2] === t && pairs[i - 1] === mask)) pairs.splice(i, 0, t, mask);
  return pruneSequence(leaf, pairs, T, maxEntries);
}

export function pruneSequence(leaf: SequenceLeaf, pairs: SequenceState, T: number, maxEntries: number): SequenceState {
  if (leaf.withinMs !== undefined) {
    let drop = 0;
    while (drop < pairs.length && pairs[drop]! <= T - leaf.withinMs) drop += 2;
    if (drop > 0) pairs.splice(0, drop);
  }
  if (leaf.trailing) {
    // The last step of any match must come after the latest event matching the trailing absent step
    // (L). Before L, no entry can be that last step, nor matter as trailing evidence (L itself is kept,
    // so a late event from before L still finds an absent-matching event after it).
    const trailingBit = 1 << leaf.trailing.step;
    const lastBit = 1 << leaf.positives.at(-1)!;
    let latest = -1;
    for (let i = pairs.length - 2; i >= 0; i -= 2) {
      if ((pairs[i + 1]! & trailingBit) !== 0) {
        latest = i;
        break;
      }
    }
    if (latest > 0) {
      const tL = pairs[latest]!;
      const kept: number[] = [];
      for (let i = 0; i < pairs.length; i += 2) {
        const t = pairs[i]!;
        let mask = pairs[i + 1]!;
        if (t < tL) mask &= ~(trailingBit | lastBit);
        if (mask !== 0) kept.push(t, mask);
      }
      pairs.splice(0, pairs.length, ...kept);
    }
  }
  if (pairs.length > 2 * maxEntries) pairs.splice(0, pairs.length - 2 * maxEntries);
  return pairs;
}

export function mergeSequence(
  leaf: SequenceLeaf,
  a: unknown,
  b: unknown,
  T: number,
  maxEntries: number,
): SequenceState | undefined {
  let pairs = (a as SequenceState | undefined) ?? [];
  const other = (b as SequenceState | undefined) ?? [];
  for (let i = 0; i < other.length; i += 2) {
    const merged = insertSequence(leaf, pairs, other[i]!, other[i + 1]!, T, Number.MAX_SAFE_INTEGER);
    if (merged) pairs = merged;
  }
  pairs = pruneSequence(leaf, pairs, T, maxEntries);
  return pairs.length === 0 ? undefined : pairs;
}

/**
 * Whether the sequence holds at instant T. Positive steps match strictly increasing event times.
 * An absent step between two positive ones requires no matching event strictly between them and a
 * gap of at least `for`; a trailing absent step requires the last positive step to be at least `for`
 * old and no matching event since it, up to and including T. With `within`, every matched event is
 * inside (T − within, T].
 */
export function holdsSequence(leaf: SequenceLeaf, state: unknown, T: number): boolean {
  const s = state as SequenceState | undefined;
  if (!s || s.length === 0) return false;
  const n = s.length / 2;
  const lo = leaf.withinMs === undefined ? -Infinity : T - leaf.withinMs;
  let from = 0;
  while (from < n && s[2 * from]! <= lo) from++;
  let to = n;
  while (to > from && s[2 * (to - 1)]! > T) to--;
  if (from >= to) return false;
  let prev = scratch(0, n);
  let cur = scratch(1, n);
  prev.fill(NaN, 0, n);
  cur.fill(NaN, 0, n);
  for (let j = 0; j < leaf.positives.length; j++) {
    const bit = 1 << leaf.positives[j]!;
    const absent = leaf.absentBefore[j];
    const nextAbsent = absent ? nextTimes(s, from, to, 1 << absent.step, 2) : undefined;
    let any = false;
    for (let i = from; i < to; i++) {
      cur[i] = NaN;
      if ((s[2 * i + 1]! & bit) === 0) continue;
      const ti = s[2 * i]!;
      if (j === 0) {
        cur[i] = ti;
        any = true;
        continue;
      }
      let best = NaN;
      for (let k = from; k < i; k++) {
        const start = prev[k]!;
        if (Number.isNaN(start)) continue;
        const tk = s[2 * k]!;
        if (tk >= ti) continue;
        if (absent && (ti - tk < absent.forMs || nextAbsent![k]! < ti)) continue;
        if (Number.isNaN(best) || start > best) best = start;
      }
      cur[i] = best;
      if (!Number.isNaN(best)) any = true;
    }
    if (!any) return false;
    const swap = prev;
    prev = cur;
    cur = swap;
  }
  const trailing = leaf.trailing;
  const nextTrailing = trailing ? nextTimes(s, from, to, 1 << trailing.step, 3) : undefined;
  for (let i = from; i < to; i++) {
    if (Number.isNaN(prev[i]!)) continue;
    if (!trailing) return true;
    if (T - s[2 * i]! >= trailing.forMs && nextTrailing![i]! > T) return true;
  }
  return false;
}

/** Reused work arrays of the matcher (it never nests); only their first n items are meaningful. */
const pool: Float64Array[] = [];
function scratch(slot: number, n: number): Float64Array {
  let buffer = pool[slot];
  if (!buffer || buffer.length < n) pool[slot] = buffer = new Float64Array(Math.max(n, 64));
  return buffer;
}

/** For each entry i: the earliest time strictly after t_i of an entry having `bit` (Infinity when none). */
function nextTimes(s: SequenceState, from: number, to: number, bit: number, slot: number): Float64Array {
  const out = scratch(slot, s.length / 2);
  out.fill(Infinity, 0, s.length / 2);
  let best = Infinity;
  let i = to - 1;
  while (i >= from) {
    const t = s[2 * i]!;
    let groupHasBit = false;
    let j = i;
    while (j >= from && s[2 * j] === t) {
      out[j] = best;
      if ((s[2 * j + 1]! & bit) !== 0) groupHasBit = true;
      j--;
    }
    if (groupHasBit) best = t;
    i = j;
  }
  return out;
}

/** Instants after T at which the sequence may change without events: a `for` completing, the first step leaving `within`. */
export function sequenceChanges(leaf: SequenceLeaf, state: unknown, T: number, out: number[]): void {
  const s = state as SequenceState | undefined;
  if (!s) return;
  const firstBit = 1 << leaf.positives[0]!;
  const lastBit = 1 << leaf.positives.at(-1)!;
  for (let i = 0; i < s.length; i += 2) {
    const t = s[i]!;
    const mask = s[i + 1]!;
    if (leaf.withinMs !== undefined && (mask & firstBit) !== 0 && t + leaf.withinMs > T) out.push(t + leaf.withinMs);
    if (leaf.trailing && (mask & lastBit) !== 0 && t + leaf.trailing.forMs > T) out.push(t + leaf.trailing.forMs);
  }
}
