import { describe, expect, it } from 'vitest';
import { checkCompatibility, diffSchemas, incompatibleDifferences } from './compatibility.js';
import type { CompatibilityPolicy } from './types.js';

const open = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  properties,
  required,
});
const closed = (properties: Record<string, unknown>, required: string[] = []) => ({
  ...open(properties, required),
  additionalProperties: false,
});

/** The incompatible difference types when `update` must read everything valid under `original`. */
function breaks(original: unknown, update: unknown, policy: CompatibilityPolicy = 'strict'): string[] {
  return incompatibleDifferences(original, update, policy).map((d) => d.type);
}

describe('diffSchemas: objects and content models (Confluent rules)', () => {
  const v1 = open({ product_id: { type: 'string' }, price: { type: 'number' } }, ['product_id']);

  it('adding an optional property: incompatible for an open model under strict, compatible under lenient', () => {
    const v2 = open({ ...v1.properties, sku: { type: 'string' } }, ['product_id']);
    expect(breaks(v1, v2, 'strict')).toEqual(['PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL']);
    expect(breaks(v1, v2, 'lenient')).toEqual([]);
    // Old data could hold `sku` with any value, unless the added schema accepts everything.
    expect(breaks(v1, open({ ...v1.properties, sku: {} }, ['product_id']), 'strict')).toEqual([]);
  });

  it('adding an optional property to a closed model is compatible under both policies', () => {
    const c1 = closed(v1.properties, ['product_id']);
    const c2 = closed({ ...v1.properties, sku: { type: 'string' } }, ['product_id']);
    expect(diffSchemas(c1, c2).map((d) => d.type)).toEqual(['OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL']);
    expect(breaks(c1, c2, 'strict')).toEqual([]);
  });

  it('adding a required property without a default is incompatible; with a default it is not', () => {
    const withRequired = open({ ...v1.properties, currency: { type: 'string' } }, ['product_id', 'currency']);
    expect(breaks(v1, withRequired, 'lenient')).toEqual(['REQUIRED_ATTRIBUTE_ADDED']);
    const withDefault = open({ ...v1.properties, currency: { type: 'string', default: 'USD' } }, [
      'product_id',
      'currency',
    ]);
    expect(breaks(v1, withDefault, 'lenient')).toEqual([]);
    // Making an existing property required.
    expect(breaks(v1, open(v1.properties, ['product_id', 'price']))).toEqual(['REQUIRED_ATTRIBUTE_ADDED']);
    // In a closed model the same change has its own name.
    expect(breaks(closed(v1.properties), closed({ ...v1.properties, c: { type: 'string' } }, ['c']))).toEqual([
      'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL',
    ]);
  });

  it('removing a property: compatible from an open model, incompatible from a closed one', () => {
    expect(breaks(v1, open({ product_id: { type: 'string' } }, ['product_id']))).toEqual([]);
    expect(breaks(closed(v1.properties), closed({ product_id: { type: 'string' } }))).toEqual([
      'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL',
    ]);
    // Dropping `required` is always fine for readers.
    expect(breaks(v1, open(v1.properties))).toEqual([]);
  });

  it('partially open models: an added property is compatible when additionalProperties covers it', () => {
    const p1 = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } };
    const covered = { ...p1, properties: { ...p1.properties, b: { type: ['string', 'null'] } } };
    const notCovered = { ...p1, properties: { ...p1.properties, b: { type: 'number' } } };
    // Covered means the new schema accepts whatever old data may hold there: a maxLength narrows a string.
    const narrowed = { ...p1, properties: { ...p1.properties, b: { type: 'string', maxLength: 10 } } };
    expect(breaks(p1, covered)).toEqual([]);
    expect(diffSchemas(p1, covered).map((d) => d.type)).toContain(
      'PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
    );
    expect(breaks(p1, notCovered)).toEqual(['PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL']);
    expect(breaks(p1, narrowed)).toEqual(['PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL']);
    expect(breaks(p1, notCovered, 'lenient')).toEqual([]);
  });

  it('additionalProperties: closing an open model is incompatible (strict), opening a closed one is fine', () => {
    expect(breaks(v1, { ...v1, additionalProperties: false })).toEqual(['ADDITIONAL_PROPERTIES_REMOVED']);
    expect(breaks({ ...v1, additionalProperties: false }, v1)).toEqual([]);
    expect(breaks(v1, { ...v1, additionalProperties: { type: 'string' } })).toEqual(['ADDITIONAL_PROPERTIES_NARROWED']);
  });

  it('compares nested properties and array items', () => {
    const o1 = open({ products: { type: 'array', items: open({ price: { type: 'number' } }) } });
    const o2 = open({ products: { type: 'array', items: open({ price: { type: 'string' } }) } });
    expect(incompatibleDifferences(o1, o2, 'strict')).toEqual([
      { type: 'TYPE_CHANGED', path: '#/properties/products/items/properties/price/type' },
    ]);
    expect(breaks({ type: 'array' }, { type: 'array', items: { type: 'string' } })).toEqual(['SCHEMA_ADDED']);
    expect(breaks({ type: 'array', items: { type: 'string' } }, { type: 'array' })).toEqual([]);
    expect(breaks({ type: 'array' }, { type: 'array', uniqueItems: true, maxItems: 3 })).toEqual([
      'MAX_ITEMS_ADDED',
      'UNIQUE_ITEMS_ADDED',
    ]);
  });
});

describe('diffSchemas: types, enums and bounds', () => {
  it('types: extending is compatible, narrowing or changing is not (integer ⊂ number)', () => {
    expect(breaks({ type: 'integer' }, { type: 'number' })).toEqual([]);
    expect(breaks({ type: 'number' }, { type: 'integer' })).toEqual(['TYPE_NARROWED']);
    expect(breaks({ type: 'string' }, { type: ['string', 'null'] })).toEqual([]);
    expect(breaks({ type: 'string' }, { type: 'number' })).toEqual(['TYPE_CHANGED']);
    expect(breaks({}, { type: 'string' })).toEqual(['TYPE_NARROWED']);
    expect(breaks({ type: 'string' }, {})).toEqual([]);
    expect(breaks({ type: 'string' }, false)).toEqual(['TYPE_CHANGED']);
  });

  it('enums: adding values is compatible, removing is not', () => {
    expect(breaks({ enum: ['a', 'b'] }, { enum: ['a', 'b', 'c'] })).toEqual([]);
    expect(breaks({ enum: ['a', 'b'] }, { enum: ['a'] })).toEqual(['ENUM_ARRAY_NARROWED']);
    expect(breaks({ type: 'string' }, { type: 'string', enum: ['a'] })).toEqual(['ENUM_ARRAY_NARROWED']);
    expect(breaks({ const: 'a' }, { enum: ['a', 'b'] })).toEqual([]);
    expect(breaks({ enum: ['a', 'b'] }, { enum: ['a', 'c'] })).toEqual(['ENUM_ARRAY_CHANGED']);
  });

  it('string and number bounds: loosening is compatible, tightening is not', () => {
    expect(breaks({ type: 'string', maxLength: 5 }, { type: 'string', maxLength: 10 })).toEqual([]);
    expect(breaks({ type: 'string', maxLength: 10 }, { type: 'string', maxLength: 5 })).toEqual([
      'MAX_LENGTH_DECREASED',
    ]);
    expect(breaks({ type: 'string' }, { type: 'string', minLength: 1 })).toEqual(['MIN_LENGTH_ADDED']);
    expect(breaks({ type: 'string', pattern: '^a' }, { type: 'string' })).toEqual([]);
    expect(breaks({ type: 'string', pattern: '^a' }, { type: 'string', pattern: '^b' })).toEqual(['PATTERN_CHANGED']);
    expect(breaks({ type: 'number', minimum: 0 }, { type: 'number', minimum: -1 })).toEqual([]);
    expect(breaks({ type: 'number', minimum: 0 }, { type: 'number', minimum: 1 })).toEqual(['MINIMUM_INCREASED']);
    expect(breaks({ type: 'number' }, { type: 'number', maximum: 100 })).toEqual(['MAXIMUM_ADDED']);
    expect(breaks({ type: 'number', exclusiveMaximum: 10 }, { type: 'number', exclusiveMaximum: 20 })).toEqual([]);
    expect(breaks({ type: 'number', multipleOf: 4 }, { type: 'number', multipleOf: 2 })).toEqual([]);
    expect(breaks({ type: 'number', multipleOf: 2 }, { type: 'number', multipleOf: 4 })).toEqual([
      'MULTIPLE_OF_EXPANDED',
    ]);
  });

  it('annotations never matter; keywords outside the subset must stay equal', () => {
    expect(breaks({ type: 'string', description: 'a' }, { type: 'string', description: 'b', title: 't' })).toEqual([]);
    const any1 = { anyOf: [{ type: 'string' }, { type: 'number' }] };
    expect(breaks(any1, any1)).toEqual([]);
    expect(breaks(any1, { anyOf: [{ type: 'string' }] })).toEqual(['UNSUPPORTED_KEYWORD_CHANGED']);
  });
});

describe('checkCompatibility: modes', () => {
  const v1 = { version: 1, schema: open({ a: { type: 'string' } }, ['a']) };
  const addRequired = open({ a: { type: 'string' }, b: { type: 'string' } }, ['a', 'b']);
  const dropRequired = open({ a: { type: 'string' } });

  it('BACKWARD: the new schema reads old data', () => {
    expect(checkCompatibility('BACKWARD', 'lenient', addRequired, [v1])).toEqual([
      { type: 'REQUIRED_ATTRIBUTE_ADDED', path: '#/required/b', direction: 'BACKWARD', version: 1 },
    ]);
    expect(checkCompatibility('BACKWARD', 'lenient', dropRequired, [v1])).toEqual([]);
  });

  it('FORWARD: old schemas read new data', () => {
    expect(checkCompatibility('FORWARD', 'lenient', addRequired, [v1])).toEqual([]);
    expect(checkCompatibility('FORWARD', 'lenient', dropRequired, [v1]).map((v) => [v.type, v.direction])).toEqual([
      ['REQUIRED_ATTRIBUTE_ADDED', 'FORWARD'],
    ]);
  });

  it('FULL: both; NONE: nothing is checked', () => {
    expect(checkCompatibility('FULL', 'lenient', addRequired, [v1]).length).toBe(1);
    expect(checkCompatibility('FULL', 'lenient', dropRequired, [v1]).length).toBe(1);
    expect(checkCompatibility('NONE', 'strict', { type: 'string' }, [v1])).toEqual([]);
    expect(checkCompatibility('FULL', 'lenient', { type: 'string' }, [])).toEqual([]);
  });

  it('_TRANSITIVE checks every earlier version, the plain modes only the latest', () => {
    // Version 2 was registered while the mode was NONE and narrowed the enum.
    const versions = [
      { version: 1, schema: { type: 'string', enum: ['a', 'b', 'c'] } },
      { version: 2, schema: { type: 'string', enum: ['a'] } },
    ];
    const candidate = { type: 'string', enum: ['a', 'b'] };
    expect(checkCompatibility('BACKWARD', 'strict', candidate, versions)).toEqual([]);
    expect(checkCompatibility('BACKWARD_TRANSITIVE', 'strict', candidate, versions)).toEqual([
      { type: 'ENUM_ARRAY_NARROWED', path: '#/enum', direction: 'BACKWARD', version: 1 },
    ]);
    expect(checkCompatibility('FORWARD_TRANSITIVE', 'strict', candidate, versions).map((v) => v.version)).toEqual([2]);
  });
});
