import { isDurationString, parseDuration } from '../core/index.js';
import { SegmentsErrors } from './errors.js';
import { RULE_LIMITS, SEGMENT_ID_PATTERN } from './options.js';
import { isValidPath, pointer } from './paths.js';
import {
  COMPARISON_OPERATORS,
  FILTER_EVENT_TYPES,
  type Comparison,
  type ComparisonOperator,
  type Condition,
  type SegmentDefinition,
} from './types.js';

/**
 * Validation of untrusted segment JSON. Every fault is a `SEGMENTS_RULE_INVALID` error whose
 * `details.pointer` is the RFC 6901 pointer of the offending value in the submitted document and
 * whose `details.expected` says what was expected there. The first fault found is reported.
 */

const CONDITION_KINDS = ['all', 'any', 'not', 'count', 'sum', 'distinct', 'trait', 'sequence', 'inSegment'] as const;
type ConditionKind = (typeof CONDITION_KINDS)[number];
const NUMERIC_OPERATORS: readonly ComparisonOperator[] = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in'];
const DURATION_HINT = 'a duration such as "30s", "10m", "2h" or "30d"';

function fail(at: string, expected: string, extra: Record<string, unknown> = {}): never {
  throw SegmentsErrors.create('SEGMENTS_RULE_INVALID', `${at || '/'}: expected ${expected}`, {
    details: { pointer: at, expected, ...extra },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Validates a full definition (the PUT body). `pathId`, when given, must equal `id` if the body has one. */
export function validateDefinition(body: unknown, pathId?: string): SegmentDefinition {
  if (!isObject(body)) fail('', 'a JSON object {id, name, condition}', { found: typeName(body) });
  for (const key of Object.keys(body)) {
    if (!['id', 'name', 'description', 'condition', 'state'].includes(key)) {
      fail(pointer('', key), 'no such field (allowed: id, name, description, condition, state)');
    }
  }
  const id = body.id ?? pathId;
  if (typeof id !== 'string' || !SEGMENT_ID_PATTERN.test(id)) {
    fail('/id', 'a segment id: letters, digits, ".", "_", "-" (at most 128, starting with a letter or digit)');
  }
  if (pathId !== undefined && id !== pathId) {
    throw SegmentsErrors.create('SEGMENTS_ID_MISMATCH', `The body's id "${id}" differs from the path's "${pathId}"`, {
      details: { pointer: '/id', bodyId: id, pathId },
    });
  }
  const name = body.name ?? id;
  if (typeof name !== 'string' || name.length === 0 || name.length > RULE_LIMITS.maxNameLength) {
    fail('/name', `a non-empty string of at most ${RULE_LIMITS.maxNameLength} characters`);
  }
  if (
    body.description !== undefined &&
    (typeof body.description !== 'string' || body.description.length > RULE_LIMITS.maxDescriptionLength)
  ) {
    fail('/description', `a string of at most ${RULE_LIMITS.maxDescriptionLength} characters`);
  }
  if (body.condition === undefined) fail('/condition', 'a condition');
  const budget = { nodes: 0 };
  validateCondition(body.condition, '/condition', 0, budget);
  const definition: SegmentDefinition = { id, name, condition: structuredClone(body.condition) as Condition };
  if (typeof body.description === 'string') definition.description = body.description;
  return definition;
}

/** Validates one condition (e.g. a rule previewed on its own); pointers start at `at`. */
export function validateCondition(value: unknown, at = '', depth = 0, budget = { nodes: 0 }): Condition {
  if (++budget.nodes > RULE_LIMITS.maxNodes) fail(at, `at most ${RULE_LIMITS.maxNodes} conditions in one rule`);
  if (depth > RULE_LIMITS.maxDepth) fail(at, `conditions nested at most ${RULE_LIMITS.maxDepth} deep`);
  if (!isObject(value))
    fail(at, `a condition object with one of: ${CONDITION_KINDS.join(', ')}`, { found: typeName(value) });
  const kinds = Object.keys(value).filter((key): key is ConditionKind =>
    (CONDITION_KINDS as readonly string[]).includes(key),
  );
  if (kinds.length === 0) {
    const unknown = Object.keys(value).find((key) => !(COMPARISON_OPERATORS as readonly string[]).includes(key));
    if (unknown !== undefined)
      fail(pointer(at, unknown), `a condition kind (one of: ${CONDITION_KINDS.join(', ')})`, { found: unknown });
    fail(at, `a condition with one of: ${CONDITION_KINDS.join(', ')}`);
  }
  if (kinds.length > 1)
    fail(
      pointer(at, kinds[1]!),
      `exactly one condition kind per object (found ${kinds.join(' and ')}); combine them with "all" or "any"`,
    );
  const kind = kinds[0]!;
  const here = pointer(at, kind);
  switch (kind) {
    case 'all':
    case 'any': {
      onlyKeys(value, at, [kind], 'no other field beside "' + kind + '"');
      const list = value[kind];
      if (!Array.isArray(list) || list.length === 0) fail(here, 'a non-empty array of conditions');
      list.forEach((child, i) => validateCondition(child, pointer(here, i), depth + 1, budget));
      break;
    }
    case 'not':
      onlyKeys(value, at, ['not'], 'no other field beside "not"');
      validateCondition(value.not, here, depth + 1, budget);
      break;
    case 'count':
    case 'sum':
    case 'distinct': {
      const spec = value[kind];
      if (!isObject(spec)) fail(here, `a ${kind} object {event, within, …}`, { found: typeName(spec) });
      const extra = kind === 'count' ? ['within', 'by'] : ['of', 'within'];
      validateFilter(spec, here, extra);
      if (spec.within === undefined) fail(pointer(here, 'within'), DURATION_HINT);
      validateDuration(spec.within, pointer(here, 'within'));
      if (kind === 'count' && spec.by !== undefined) validatePathValue(spec.by, pointer(here, 'by'));
      if (kind !== 'count') {
        if (spec.of === undefined) fail(pointer(here, 'of'), 'a property path such as "properties.revenue"');
        validatePathValue(spec.of, pointer(here, 'of'));
      }
      const ops = validateComparison(value, at, [kind], NUMERIC_OPERATORS, `a comparison for the ${kind}`, true);
      const limit =
        kind === 'distinct'
          ? RULE_LIMITS.maxDistinctThreshold
          : kind === 'count'
            ? RULE_LIMITS.maxCountThreshold
            : Infinity;
      for (const [op, operand] of Object.entries(ops)) {
        const values = op === 'in' ? (operand as unknown[]) : [operand];
        values.forEach((v, i) => {
          const where = op === 'in' ? pointer(at, op, i) : pointer(at, op);
          if (typeof v !== 'number' || !Number.isFinite(v))
            fail(where, `a number (a ${kind} is a number)`, { found: typeName(v) });
          if (Math.abs(v) > limit)
            fail(where, `a number of at most ${limit} (the state keeps counts up to the largest constant)`);
        });
      }
      break;
    }
    case 'trait': {
      validatePathValue(value.trait, here);
      validateComparison(value, at, ['trait'], COMPARISON_OPERATORS, 'a comparison for the trait', true);
      break;
    }
    case 'sequence': {
      onlyKeys(value, at, ['sequence', 'within'], 'only "sequence" and "within"');
      const steps = value.sequence;
      if (!Array.isArray(steps) || steps.length === 0) fail(here, 'a non-empty array of steps');
      if (steps.length > RULE_LIMITS.maxSequenceSteps) fail(here, `at most ${RULE_LIMITS.maxSequenceSteps} steps`);
      let withinMs: number | undefined;
      if (value.within !== undefined) withinMs = validateDuration(value.within, pointer(at, 'within'));
      let positives = 0;
      steps.forEach((step: unknown, i) => {
        const stepAt = pointer(here, i);
        if (isObject(step) && 'absent' in step) {
          onlyKeys(step, stepAt, ['absent', 'for'], 'only "absent" and "for"');
          if (i === 0) fail(stepAt, 'an event step first ("absent" is measured from the step before it)');
          if (isObject(steps[i - 1]) && 'absent' in (steps[i - 1] as object))
            fail(stepAt, 'an event step between two "absent" steps');
          if (!isObject(step.absent))
            fail(pointer(stepAt, 'absent'), 'a filter {event, type?, where?}', { found: typeName(step.absent) });
          validateFilter(step.absent, pointer(stepAt, 'absent'), []);
          if (step.for === undefined) fail(pointer(stepAt, 'for'), DURATION_HINT);
          const forMs = validateDuration(step.for, pointer(stepAt, 'for'));
          if (withinMs !== undefined && forMs >= withinMs)
            fail(pointer(stepAt, 'for'), 'a duration shorter than the sequence\'s "within"');
        } else {
          if (!isObject(step))
            fail(stepAt, 'a step: a filter {event, type?, where?} or {absent: filter, for: duration}', {
              found: typeName(step),
            });
          validateFilter(step, stepAt, []);
          positives++;
        }
      });
      if (positives === 0) fail(here, 'at least one event step');
      break;
    }
    case 'inSegment': {
      onlyKeys(value, at, ['inSegment'], 'no other field beside "inSegment"');
      if (typeof value.inSegment !== 'string' || !SEGMENT_ID_PATTERN.test(value.inSegment)) fail(here, 'a segment id');
      break;
    }
  }
  return value as Condition;
}

function onlyKeys(value: Record<string, unknown>, at: string, allowed: readonly string[], expected: string): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) fail(pointer(at, key), expected, { found: key });
}

function validateDuration(value: unknown, at: string): number {
  if (!isDurationString(value)) fail(at, DURATION_HINT, { found: value });
  const ms = parseDuration(value);
  if (ms <= 0 || ms > RULE_LIMITS.maxWindowMs)
    fail(at, `a duration above 0 and at most ${RULE_LIMITS.maxWindowMs / 86_400_000}d`, { found: value });
  return ms;
}

function validatePathValue(value: unknown, at: string): void {
  if (typeof value !== 'string' || !isValidPath(value))
    fail(at, 'a dotted property path such as "properties.product_id"', { found: value });
}

function validateFilter(spec: Record<string, unknown>, at: string, extra: readonly string[]): void {
  const allowed = ['event', 'type', 'where', ...extra];
  onlyKeys(spec, at, allowed, `a filter field (one of: ${allowed.join(', ')})`);
  if (spec.event === undefined && spec.type === undefined) fail(pointer(at, 'event'), 'an event name (or a "type")');
  if (spec.event !== undefined) {
    const names = Array.isArray(spec.event) ? spec.event : [spec.event];
    if (names.length === 0 || names.length > RULE_LIMITS.maxEventNames)
      fail(pointer(at, 'event'), `an event name or 1 to ${RULE_LIMITS.maxEventNames} names`);
    names.forEach((name: unknown, i) => {
      const where = Array.isArray(spec.event) ? pointer(at, 'event', i) : pointer(at, 'event');
      if (typeof name !== 'string' || name.length === 0 || name.length > 200)
        fail(where, 'a non-empty event name', { found: typeName(name) });
    });
  }
  if (spec.type !== undefined) {
    if (typeof spec.type !== 'string' || !(FILTER_EVENT_TYPES as readonly string[]).includes(spec.type)) {
      fail(pointer(at, 'type'), `one of ${FILTER_EVENT_TYPES.join(', ')}`, { found: spec.type });
    }
    if (spec.event !== undefined && !['track', 'page', 'screen'].includes(spec.type)) {
      fail(pointer(at, 'type'), 'track, page or screen when "event" names are given (other types have no name)');
    }
  }
  if (spec.where !== undefined) {
    const where = spec.where;
    if (!isObject(where) || Object.keys(where).length === 0)
      fail(pointer(at, 'where'), 'an object {path: {operator: value}}');
    for (const [path, comparison] of Object.entries(where)) {
      const pathAt = pointer(at, 'where', path);
      if (!isValidPath(path)) fail(pathAt, 'a dotted property path as the key', { found: path });
      if (!isObject(comparison))
        fail(pathAt, `an object of operators (${COMPARISON_OPERATORS.join(', ')})`, { found: typeName(comparison) });
      validateComparison(comparison, pathAt, [], COMPARISON_OPERATORS, 'at least one operator', true);
    }
  }
}

/** Checks the operator keys of `value` (skipping `skip`), their operands, and that there is at least one. */
function validateComparison(
  value: Record<string, unknown>,
  at: string,
  skip: readonly string[],
  allowed: readonly ComparisonOperator[],
  missing: string,
  required: boolean,
): Comparison {
  const ops: Record<string, unknown> = {};
  for (const [key, operand] of Object.entries(value)) {
    if (skip.includes(key)) continue;
    const here = pointer(at, key);
    if (!(allowed as readonly string[]).includes(key)) {
      fail(here, `an operator (one of: ${allowed.join(', ')})`, { found: key });
    }
    const op = key as ComparisonOperator;
    switch (op) {
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        if (!((typeof operand === 'number' && Number.isFinite(operand)) || typeof operand === 'string'))
          fail(here, 'a number or a string', { found: typeName(operand) });
        break;
      case 'in':
        if (!Array.isArray(operand) || operand.length > RULE_LIMITS.maxInValues)
          fail(here, `an array of at most ${RULE_LIMITS.maxInValues} values`, { found: typeName(operand) });
        break;
      case 'exists':
        if (typeof operand !== 'boolean') fail(here, 'true or false', { found: typeName(operand) });
        break;
      case 'eq':
      case 'neq':
      case 'contains':
        if (operand === undefined) fail(here, 'a value');
        break;
    }
    ops[op] = operand;
  }
  if (required && Object.keys(ops).length === 0) fail(at, `${missing} (one of: ${allowed.join(', ')})`);
  return ops;
}

/** The inSegment references of a condition, with their pointers (relative to `at`). */
export function references(condition: Condition, at = '/condition'): { id: string; pointer: string }[] {
  const out: { id: string; pointer: string }[] = [];
  const walk = (c: Condition, here: string): void => {
    if ('all' in c) c.all.forEach((child, i) => walk(child, pointer(here, 'all', i)));
    else if ('any' in c) c.any.forEach((child, i) => walk(child, pointer(here, 'any', i)));
    else if ('not' in c) walk(c.not, pointer(here, 'not'));
    else if ('inSegment' in c) out.push({ id: c.inSegment, pointer: pointer(here, 'inSegment') });
  };
  walk(condition, at);
  return out;
}

/**
 * The first cycle in a dependency graph (segment id → ids it references), as the list of ids around
 * it (first = last), or undefined.
 */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const mark = state.get(id);
    if (mark === 2) return undefined;
    if (mark === 1) return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 1);
    stack.push(id);
    for (const next of graph.get(id) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 2);
    return undefined;
  };
  for (const id of [...graph.keys()].sort()) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return undefined;
}
