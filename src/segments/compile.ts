import { createHash } from 'node:crypto';
import { parseDuration, type KairosEvent } from '../core/index.js';
import { SegmentsErrors } from './errors.js';
import type { ResolvedSegmentsOperatorOptions } from './options.js';
import { splitPath, valueAt } from './paths.js';
import { findCycle, references } from './validate.js';
import type { ActiveSegmentVersion, Comparison, Condition, Filter, Step } from './types.js';

/** A compiled filter: which events a leaf (or a sequence step) looks at. */
export interface CompiledFilter {
  /** Keys of the event index: `<type>\0<name>` or `<type>\0*`. */
  readonly indexKeys: readonly string[];
  /** The `where` part (type and name are settled by the index). */
  readonly where: (event: KairosEvent) => boolean;
}

interface LeafBase {
  /** Stable id of the leaf (hash of its spec): equal leaves of different rules share one state. */
  readonly id: string;
  readonly filters: readonly CompiledFilter[];
  /** Position in `CompiledDefinitions.leafList` (the operator keeps leaf states in an array). */
  index: number;
}

export interface WindowLeaf extends LeafBase {
  readonly kind: 'count' | 'sum' | 'distinct';
  /**
   * The longest window of the conditions sharing this leaf (entries are kept that long). Exact-mode
   * leaves are shared by conditions with the same filter whatever their window: the newest entries
   * kept for the longest window also decide every shorter one.
   */
  withinMs: number;
  /** 0 = exact event times; otherwise the bucket width. */
  readonly bucketMs: number;
  readonly groupBy?: readonly string[];
  readonly of?: readonly string[];
  /** count/distinct: values are kept up to this (min(value, cap) decides every comparison of the rules). */
  cap: number;
}

export interface SequenceLeaf extends LeafBase {
  readonly kind: 'sequence';
  readonly withinMs: number | undefined;
  /** Step index of each positive step, in order. */
  readonly positives: readonly number[];
  /** For positive j ≥ 1: the absent step between it and positive j−1, or undefined. */
  readonly absentBefore: readonly ({ step: number; forMs: number } | undefined)[];
  /** The absent step after the last positive one, or undefined. */
  readonly trailing: { step: number; forMs: number } | undefined;
}

export type Leaf = WindowLeaf | SequenceLeaf;

export type Node =
  | { readonly k: 'all'; readonly c: readonly Node[] }
  | { readonly k: 'any'; readonly c: readonly Node[] }
  | { readonly k: 'not'; readonly c: Node }
  | {
      readonly k: 'agg';
      readonly leaf: WindowLeaf;
      readonly withinMs: number;
      readonly direction: Drift;
      readonly test: (value: number) => boolean;
    }
  | { readonly k: 'seq'; readonly leaf: SequenceLeaf }
  | { readonly k: 'trait'; readonly parts: readonly string[]; readonly test: (value: unknown) => boolean }
  /** `index`: position of the referenced active version in `segments` (-1 when it has none). */
  | { readonly k: 'in'; readonly key: string | undefined; readonly index: number };

export interface CompiledSegment {
  /** `<id>@<version>`: the membership key. */
  readonly key: string;
  readonly id: string;
  readonly version: number;
  readonly active: boolean;
  readonly root: Node;
  readonly leaves: readonly Leaf[];
  /** The (leaf, window) pairs of its conditions: where to look for instants its truth may change. */
  readonly sources: readonly { readonly leaf: Leaf; readonly withinMs: number }[];
  readonly usesTraits: boolean;
  /** Segment ids it references (their active versions). */
  readonly dependsOn: readonly string[];
  /** Position in `segments` (dependency order). */
  readonly index: number;
  /** Its member-index keys start with this (`memberIndexKey` without the profile key). */
  readonly indexPrefix: string;
  /**
   * How its truth can move as time passes with no new event (inSegment and traits held constant):
   * `down` only true → false (e.g. a count above a threshold), `up` only false → true, `none` never,
   * `both` either way (sequences, sums, equalities). Skips the next-change search when it cannot change.
   */
  readonly drift: Drift;
}

export type Drift = 'none' | 'down' | 'up' | 'both';

function flip(d: Drift): Drift {
  return d === 'down' ? 'up' : d === 'up' ? 'down' : d;
}

function combine(a: Drift, b: Drift): Drift {
  if (a === 'none') return b;
  if (b === 'none' || a === b) return a;
  return 'both';
}

/** Windowed values (counts, distinct counts) only shrink as time passes; sums may grow (negative amounts leaving). */
function driftOf(node: Node): Drift {
  switch (node.k) {
    case 'all':
    case 'any':
      return node.c.reduce<Drift>((d, child) => combine(d, driftOf(child)), 'none');
    case 'not':
      return flip(driftOf(node.c));
    case 'trait':
    case 'in':
      return 'none';
    case 'seq': {
      // Time alone expires matches (`within`) and completes trailing absences; nothing else.
      const { withinMs, trailing } = node.leaf;
      if (withinMs === undefined) return trailing ? 'up' : 'none';
      return trailing ? 'both' : 'down';
    }
    case 'agg':
      return node.leaf.kind === 'sum' ? 'both' : node.direction;
  }
}

/** For a value that only decreases: gt/gte turn only false, lt/lte only true, eq/neq/in either way. */
function directionOf(ops: Comparison): Drift {
  let d: Drift = 'none';
  for (const op of Object.keys(ops))
    d = combine(d, op === 'gt' || op === 'gte' ? 'down' : op === 'lt' || op === 'lte' ? 'up' : 'both');
  return d;
}

export interface CompiledDefinitions {
  /** In dependency order: a segment comes after every segment it references. */
  readonly segments: readonly CompiledSegment[];
  readonly byKey: ReadonlyMap<string, CompiledSegment>;
  readonly leaves: ReadonlyMap<string, Leaf>;
  /** Every leaf, at its `index`. */
  readonly leafList: readonly Leaf[];
  /** Leaf id → indexes of the segments using it. */
  readonly leafUsers: ReadonlyMap<string, readonly number[]>;
  /** Leaf index → indexes of the segments using it. */
  readonly leafUsersByIndex: readonly (readonly number[])[];
  /** Index key → (leaf, filter position) pairs. */
  readonly eventIndex: ReadonlyMap<string, readonly { leaf: Leaf; filter: number }[]>;
  /** Segments with trait conditions (re-evaluated when traits may have changed). */
  readonly traitSegments: readonly number[];
  /** Segments whose inSegment references include a given segment id. */
  readonly dependents: ReadonlyMap<string, readonly number[]>;
  /** Segment index → the segments whose inSegment references include its id. */
  readonly dependentsByIndex: readonly (readonly number[])[];
  /** Identifies this exact set of definitions (a profile reconciles when it differs). */
  readonly fingerprint: string;
}

export function membershipKey(id: string, version: number): string {
  return `${id}@${version}`;
}

export function compileDefinitions(
  definitions: readonly ActiveSegmentVersion[],
  options: ResolvedSegmentsOperatorOptions,
): CompiledDefinitions {
  const activeVersion = new Map<string, number>();
  const seen = new Set<string>();
  for (const d of definitions) {
    const key = membershipKey(d.id, d.version);
    if (seen.has(key)) throw SegmentsErrors.create('SEGMENTS_INVALID_OPTIONS', `Version ${key} is listed twice`);
    seen.add(key);
    if (d.state === 'active') {
      if (activeVersion.has(d.id))
        throw SegmentsErrors.create('SEGMENTS_INVALID_OPTIONS', `Segment ${d.id} has two active versions`);
      activeVersion.set(d.id, d.version);
    }
  }
  // Dependency order over versions: a version depends on the active versions of the ids it references.
  const graph = new Map<string, string[]>();
  for (const d of definitions) {
    const deps = references(d.condition).map((r) => r.id);
    graph.set(
      membershipKey(d.id, d.version),
      deps.flatMap((id) => (activeVersion.has(id) ? [membershipKey(id, activeVersion.get(id)!)] : [])),
    );
  }
  const cycle = findCycle(graph);
  if (cycle)
    throw SegmentsErrors.create('SEGMENTS_CYCLE', `inSegment references form a cycle: ${cycle.join(' → ')}`, {
      details: { cycle },
    });
  const ordered: ActiveSegmentVersion[] = [];
  const placed = new Set<string>();
  const place = (d: ActiveSegmentVersion): void => {
    const key = membershipKey(d.id, d.version);
    if (placed.has(key)) return;
    placed.add(key);
    for (const dep of graph.get(key) ?? []) {
      const target = definitions.find((x) => membershipKey(x.id, x.version) === dep);
      if (target) place(target);
    }
    ordered.push(d);
  };
  for (const d of [...definitions].sort((a, b) =>
    membershipKey(a.id, a.version) < membershipKey(b.id, b.version) ? -1 : 1,
  ))
    place(d);

  const leaves = new Map<string, Leaf>();
  const segments: CompiledSegment[] = [];
  const indexOfKey = new Map<string, number>();
  ordered.forEach((d, index) => {
    indexOfKey.set(membershipKey(d.id, d.version), index);
    const used = new Map<string, Leaf>();
    const sources = new Map<string, { leaf: Leaf; withinMs: number }>();
    let usesTraits = false;
    const compileNode = (c: Condition): Node => {
      if ('all' in c) return { k: 'all', c: c.all.map(compileNode) };
      if ('any' in c) return { k: 'any', c: c.any.map(compileNode) };
      if ('not' in c) return { k: 'not', c: compileNode(c.not) };
      if ('inSegment' in c) {
        const v = activeVersion.get(c.inSegment);
        const key = v === undefined ? undefined : membershipKey(c.inSegment, v);
        // Dependency order: a referenced version is compiled before its users.
        return { k: 'in', key, index: key === undefined ? -1 : (indexOfKey.get(key) ?? -1) };
      }
      if ('trait' in c) {
        usesTraits = true;
        const { trait, ...ops } = c;
        return { k: 'trait', parts: splitPath(trait), test: compileComparison(ops) };
      }
      if ('sequence' in c) {
        const leaf = shareLeaf(leaves, compileSequence(c.sequence, c.within)) as SequenceLeaf;
        used.set(leaf.id, leaf);
        sources.set(leaf.id, { leaf, withinMs: 0 });
        return { k: 'seq', leaf };
      }
      const kind = 'count' in c ? 'count' : 'sum' in c ? 'sum' : 'distinct';
      const { [kind]: spec, ...ops } = c as unknown as Record<string, unknown> & Comparison;
      const leaf = shareLeaf(
        leaves,
        compileWindowLeaf(kind, spec as Filter & { within: string; by?: string; of?: string }, ops, options),
      ) as WindowLeaf;
      const withinMs = parseDuration((spec as { within: string }).within);
      leaf.withinMs = Math.max(leaf.withinMs, withinMs);
      if (leaf.kind !== 'sum') leaf.cap = Math.max(leaf.cap, capFor(ops));
      used.set(leaf.id, leaf);
      sources.set(`${leaf.id}/${withinMs}`, { leaf, withinMs });
      return { k: 'agg', leaf, withinMs, direction: directionOf(ops), test: compileComparison(ops) };
    };
    const root = compileNode(d.condition);
    segments.push({
      key: membershipKey(d.id, d.version),
      id: d.id,
      version: d.version,
      active: d.state === 'active',
      root,
      drift: driftOf(root),
      leaves: [...used.values()],
      sources: [...sources.values()],
      usesTraits,
      dependsOn: [...new Set(references(d.condition).map((r) => r.id))],
      index,
      indexPrefix: `m/${d.id}/${d.version}/`,
    });
  });
  const leafList = [...leaves.values()];
  leafList.forEach((leaf, i) => (leaf.index = i));

  const leafUsers = new Map<string, number[]>();
  for (const s of segments)
    for (const leaf of s.leaves) (leafUsers.get(leaf.id) ?? leafUsers.set(leaf.id, []).get(leaf.id)!).push(s.index);
  const eventIndex = new Map<string, { leaf: Leaf; filter: number }[]>();
  for (const leaf of leaves.values()) {
    leaf.filters.forEach((filter, position) => {
      for (const key of filter.indexKeys)
        (eventIndex.get(key) ?? eventIndex.set(key, []).get(key)!).push({ leaf, filter: position });
    });
  }
  const dependents = new Map<string, number[]>();
  for (const s of segments)
    for (const dep of s.dependsOn) (dependents.get(dep) ?? dependents.set(dep, []).get(dep)!).push(s.index);
  const none: readonly number[] = [];
  const fingerprint = hashText(
    JSON.stringify(ordered.map((d) => [d.id, d.version, d.state, d.condition])) +
      JSON.stringify([options.exactWindowMaxMs, options.bucketsPerWindow]),
  ).slice(0, 12);
  return {
    segments,
    byKey: new Map(segments.map((s) => [s.key, s])),
    leaves,
    leafList,
    leafUsers,
    leafUsersByIndex: leafList.map((leaf) => leafUsers.get(leaf.id) ?? none),
    eventIndex,
    traitSegments: segments.filter((s) => s.usesTraits).map((s) => s.index),
    dependents,
    dependentsByIndex: segments.map((s) => dependents.get(s.id) ?? none),
    fingerprint,
  };
}

function shareLeaf(leaves: Map<string, Leaf>, leaf: Leaf): Leaf {
  const existing = leaves.get(leaf.id);
  if (existing) return existing;
  leaves.set(leaf.id, leaf);
  return leaf;
}

/** The cap that keeps every comparison exact: min(value, cap) compares like value when cap > every constant. */
function capFor(ops: Comparison): number {
  let max = 0;
  for (const [op, operand] of Object.entries(ops)) {
    const values = op === 'in' ? (operand as unknown[]) : [operand];
    for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  }
  return Math.floor(max) + 1;
}

function compileWindowLeaf(
  kind: 'count' | 'sum' | 'distinct',
  spec: Filter & { within: string; by?: string; of?: string },
  _ops: Comparison,
  options: ResolvedSegmentsOperatorOptions,
): WindowLeaf {
  const withinMs = parseDuration(spec.within);
  const bucketMs =
    withinMs <= options.exactWindowMaxMs
      ? 0
      : Math.max(1000, Math.ceil(withinMs / options.bucketsPerWindow / 1000) * 1000);
  const filter = compileFilter(spec);
  // Exact leaves are shared across window lengths; bucketed ones have a bucket width per window.
  const identity = {
    kind,
    filter: normalFilter(spec),
    window: bucketMs === 0 ? 'exact' : withinMs,
    bucketMs,
    by: spec.by,
    of: spec.of,
  };
  return {
    kind,
    id: leafId(identity),
    index: -1,
    filters: [filter],
    withinMs,
    bucketMs,
    ...(spec.by !== undefined ? { groupBy: splitPath(spec.by) } : {}),
    ...(spec.of !== undefined ? { of: splitPath(spec.of) } : {}),
    cap: 1,
  };
}

function compileSequence(steps: readonly Step[], within: string | undefined): SequenceLeaf {
  const filters: CompiledFilter[] = [];
  const positives: number[] = [];
  const absentBefore: ({ step: number; forMs: number } | undefined)[] = [];
  let pendingAbsent: { step: number; forMs: number } | undefined;
  steps.forEach((step, i) => {
    if ('absent' in step) {
      filters.push(compileFilter(step.absent));
      pendingAbsent = { step: i, forMs: parseDuration(step.for) };
    } else {
      filters.push(compileFilter(step));
      if (positives.length > 0) absentBefore.push(pendingAbsent);
      else absentBefore.push(undefined);
      positives.push(i);
      pendingAbsent = undefined;
    }
  });
  const withinMs = within === undefined ? undefined : parseDuration(within);
  return {
    kind: 'sequence',
    id: leafId({
      kind: 'sequence',
      steps: steps.map((s) =>
        'absent' in s ? { absent: normalFilter(s.absent), for: parseDuration(s.for) } : normalFilter(s),
      ),
      withinMs,
    }),
    filters,
    index: -1,
    withinMs,
    positives,
    absentBefore,
    trailing: pendingAbsent,
  };
}

/** The parts of a filter that decide what it matches, in one spelling (so equal filters share a leaf). */
function normalFilter(filter: Filter): unknown {
  const names =
    filter.event === undefined
      ? undefined
      : [...new Set(Array.isArray(filter.event) ? filter.event : [filter.event])].sort();
  return { type: filter.type ?? 'track', event: names, where: filter.where };
}

export function compileFilter(filter: Filter): CompiledFilter {
  const type = filter.type ?? 'track';
  const names = filter.event === undefined ? undefined : Array.isArray(filter.event) ? filter.event : [filter.event];
  const indexKeys =
    names === undefined ? [`${type}\u0000*`] : [...new Set(names)].map((name) => `${type}\u0000${name}`);
  const clauses = Object.entries(filter.where ?? {}).map(([path, comparison]) => ({
    parts: splitPath(path),
    test: compileComparison(comparison),
  }));
  const where =
    clauses.length === 0
      ? () => true
      : (event: KairosEvent) => {
          for (const clause of clauses) if (!clause.test(valueAt(event, clause.parts))) return false;
          return true;
        };
  return { indexKeys, where };
}

/** The index keys an event is found under. */
export function eventIndexKeys(event: KairosEvent): [string, string] | [string] {
  const name =
    event.type === 'track' ? event.event : event.type === 'page' || event.type === 'screen' ? event.name : undefined;
  return name === undefined ? [`${event.type}\u0000*`] : [`${event.type}\u0000${name}`, `${event.type}\u0000*`];
}

/** A comparison as a predicate; all its operators must hold. */
export function compileComparison(ops: Comparison): (value: unknown) => boolean {
  const tests: ((value: unknown) => boolean)[] = [];
  for (const [op, operand] of Object.entries(ops) as [keyof Comparison, unknown][]) {
    switch (op) {
      case 'eq':
        tests.push((v) => deepEqual(v, operand));
        break;
      case 'neq':
        tests.push((v) => !deepEqual(v, operand));
        break;
      case 'gt':
        tests.push((v) => order(v, operand) > 0);
        break;
      case 'gte':
        tests.push((v) => order(v, operand) >= 0);
        break;
      case 'lt':
        tests.push((v) => order(v, operand) < 0);
        break;
      case 'lte':
        tests.push((v) => order(v, operand) <= 0);
        break;
      case 'in': {
        const list = operand as unknown[];
        tests.push((v) => list.some((x) => deepEqual(v, x)));
        break;
      }
      case 'contains':
        tests.push((v) =>
          typeof v === 'string'
            ? typeof operand === 'string' && v.includes(operand)
            : Array.isArray(v)
              ? v.some((x) => deepEqual(x, operand))
              : false,
        );
        break;
      case 'exists':
        tests.push((v) => (v !== undefined && v !== null) === operand);
        break;
    }
  }
  if (tests.length === 1) return tests[0]!;
  return (v) => {
    for (const test of tests) if (!test(v)) return false;
    return true;
  };
}

/**
 * Ordering of a value against a constant: numbers numerically (numeric strings read as numbers),
 * strings lexicographically; NaN when they cannot be compared (every ordered comparison is then false).
 */
function order(value: unknown, operand: unknown): number {
  if (typeof operand === 'number') {
    const v = toNumber(value);
    return v === undefined ? NaN : v - operand;
  }
  if (typeof operand === 'string' && typeof value === 'string') return value < operand ? -1 : value > operand ? 1 : 0;
  return NaN;
}

/** A finite number from a number or a numeric string (Segment properties often carry "19.99"). */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) =>
        Object.prototype.hasOwnProperty.call(b, k) &&
        deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

function leafId(identity: unknown): string {
  return hashText(canonicalJson(identity)).slice(0, 8);
}

function hashText(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** JSON with sorted object keys (so equal specs written in a different key order share a leaf). */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
