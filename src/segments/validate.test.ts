import { describe, expect, it } from 'vitest';
import { isKairosError } from '../core/index.js';
import { compileDefinitions } from './compile.js';
import { resolveSegmentsOperatorOptions } from './options.js';
import { findCycle, validateDefinition } from './validate.js';

/** The three definitions of DESIGN.md §6, verbatim. */
const DESIGN_EXAMPLES = [
  '{"id":"high-intent","name":"High intent","condition":{"count":{"event":"Product Viewed","by":"properties.product_id","within":"10m"},"gt":3}}',
  '{"id":"cart-abandoner","name":"Cart abandoner","condition":{"sequence":[{"event":"Product Added"},{"absent":{"event":"Order Completed"},"for":"30m"}]}}',
  '{"id":"big-spender","name":"Big spender","condition":{"all":[{"sum":{"event":"Order Completed","of":"properties.revenue","within":"30d"},"gte":500},{"trait":"plan","in":["pro","enterprise"]}]}}',
];

function faultOf(body: unknown): { code: string; pointer: unknown; expected: unknown } {
  try {
    validateDefinition(body);
  } catch (error) {
    if (!isKairosError(error)) throw error;
    return { code: error.code, pointer: error.details?.pointer, expected: error.details?.expected };
  }
  throw new Error('expected a validation error');
}

const base = { id: 'x', name: 'X' };

describe('rule validation', () => {
  it('accepts the three DESIGN.md examples verbatim and keeps them as given', () => {
    for (const text of DESIGN_EXAMPLES) {
      const body = JSON.parse(text) as { id: string };
      expect(validateDefinition(body, body.id)).toEqual(body);
    }
  });

  it.each([
    ['an unknown operator', { count: { event: 'A', within: '10m' }, gtt: 3 }, '/condition/gtt'],
    ['an unknown condition kind', { cnt: { event: 'A' } }, '/condition/cnt'],
    ['two condition kinds in one object', { trait: 'plan', eq: 'pro', inSegment: 'y' }, '/condition/inSegment'],
    ['a bad duration', { count: { event: 'A', within: '10 minutes' }, gt: 3 }, '/condition/count/within'],
    ['a zero duration', { count: { event: 'A', within: '0s' }, gt: 3 }, '/condition/count/within'],
    ['a missing window', { count: { event: 'A' }, gt: 3 }, '/condition/count/within'],
    ['a count compared with a string', { count: { event: 'A', within: '1h' }, gt: '3' }, '/condition/gt'],
    ['contains on a count', { count: { event: 'A', within: '1h' }, contains: 3 }, '/condition/contains'],
    ['a missing comparison', { count: { event: 'A', within: '1h' } }, '/condition'],
    ['an event name of the wrong type', { count: { event: 5, within: '1h' }, gt: 1 }, '/condition/count/event'],
    ['an empty event list', { count: { event: [], within: '1h' }, gt: 1 }, '/condition/count/event'],
    ['a bad name inside a list', { count: { event: ['A', ''], within: '1h' }, gt: 1 }, '/condition/count/event/1'],
    [
      'an unknown filter field',
      { count: { event: 'A', within: '1h', groupBy: 'x' }, gt: 1 },
      '/condition/count/groupBy',
    ],
    ['an unknown event type', { count: { type: 'click', within: '1h' }, gt: 1 }, '/condition/count/type'],
    ['a sum without "of"', { sum: { event: 'A', within: '1h' }, gt: 1 }, '/condition/sum/of'],
    ['a bad path', { sum: { event: 'A', of: 'properties..x', within: '1h' }, gt: 1 }, '/condition/sum/of'],
    ['a prototype path', { trait: '__proto__.x', eq: 1 }, '/condition/trait'],
    ['all with an object', { all: {} }, '/condition/all'],
    ['an empty any', { any: [] }, '/condition/any'],
    [
      'a bad nested child',
      { all: [{ trait: 'plan', eq: 'pro' }, { not: { count: { event: 'A', within: '1x' }, gt: 1 } }] },
      '/condition/all/1/not/count/within',
    ],
    [
      'a where operator with the wrong type',
      { count: { event: 'A', within: '1h', where: { 'properties.p': { exists: 'yes' } } }, gt: 1 },
      '/condition/count/where/properties.p/exists',
    ],
    [
      'an unknown where operator',
      { count: { event: 'A', within: '1h', where: { 'properties.p': { like: 'x%' } } }, gt: 1 },
      '/condition/count/where/properties.p/like',
    ],
    [
      'a where key that is not a path (escaped)',
      { count: { event: 'A', within: '1h', where: { 'a/b..c': { eq: 1 } } }, gt: 1 },
      '/condition/count/where/a~1b..c',
    ],
    ['an in that is not an array', { trait: 'plan', in: 'pro' }, '/condition/in'],
    [
      'a first absent step',
      { sequence: [{ absent: { event: 'A' }, for: '1h' }, { event: 'B' }] },
      '/condition/sequence/0',
    ],
    [
      'two absent steps in a row',
      { sequence: [{ event: 'A' }, { absent: { event: 'B' }, for: '1h' }, { absent: { event: 'C' }, for: '1h' }] },
      '/condition/sequence/2',
    ],
    [
      'an absent step without for',
      { sequence: [{ event: 'A' }, { absent: { event: 'B' } }] },
      '/condition/sequence/1/for',
    ],
    [
      'an absent longer than the window',
      { sequence: [{ event: 'A' }, { absent: { event: 'B' }, for: '2h' }], within: '1h' },
      '/condition/sequence/1/for',
    ],
    ['a bad step', { sequence: [{ event: 'A' }, 'B'] }, '/condition/sequence/1'],
    [
      'a count threshold above the supported maximum',
      { count: { event: 'A', within: '1h' }, gt: 5000 },
      '/condition/gt',
    ],
    ['a bad inSegment id', { inSegment: 'a/b' }, '/condition/inSegment'],
  ])('rejects %s with its pointer', (_name, condition, pointer) => {
    const fault = faultOf({ ...base, condition });
    expect(fault.code).toBe('SEGMENTS_RULE_INVALID');
    expect(fault.pointer).toBe(pointer);
    expect(typeof fault.expected).toBe('string');
  });

  it('rejects bad documents with pointers at the top level', () => {
    expect(faultOf([]).pointer).toBe('');
    expect(faultOf({ id: 'bad id', condition: { inSegment: 'x' } }).pointer).toBe('/id');
    expect(faultOf({ id: 'x', name: 3, condition: { inSegment: 'y' } }).pointer).toBe('/name');
    expect(faultOf({ id: 'x', name: 'X' }).pointer).toBe('/condition');
    expect(faultOf({ id: 'x', name: 'X', condition: { inSegment: 'y' }, extra: 1 }).pointer).toBe('/extra');
  });

  it('rejects an id different from the path', () => {
    try {
      validateDefinition({ id: 'a', name: 'A', condition: { inSegment: 'b' } }, 'b');
      throw new Error('expected an error');
    } catch (error) {
      expect(isKairosError(error, 'SEGMENTS_ID_MISMATCH')).toBe(true);
    }
  });

  it('finds cycles in reference graphs and rejects cyclic definitions at compile time', () => {
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toBeUndefined();
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(new Map([['a', ['a']]]))).toEqual(['a', 'a']);
    const options = resolveSegmentsOperatorOptions();
    try {
      compileDefinitions(
        [
          { id: 'a', version: 1, state: 'active', condition: { inSegment: 'b' } },
          { id: 'b', version: 1, state: 'active', condition: { any: [{ inSegment: 'a' }] } },
        ],
        options,
      );
      throw new Error('expected an error');
    } catch (error) {
      expect(isKairosError(error, 'SEGMENTS_CYCLE')).toBe(true);
      expect(error).toHaveProperty('details.cycle', ['a@1', 'b@1', 'a@1']);
    }
  });

  it('compiles equal leaves of different rules into one shared state', () => {
    const options = resolveSegmentsOperatorOptions();
    const compiled = compileDefinitions(
      [
        {
          id: 'a',
          version: 1,
          state: 'active',
          condition: { count: { event: 'V', within: '10m', type: 'track' }, gt: 3 },
        },
        { id: 'b', version: 1, state: 'active', condition: { count: { within: '10m', event: ['V'] }, gte: 7 } },
      ],
      options,
    );
    expect(compiled.leaves.size).toBe(1);
    const [leaf] = [...compiled.leaves.values()];
    expect(leaf).toMatchObject({ kind: 'count', cap: 8, bucketMs: 0 });
  });
});
