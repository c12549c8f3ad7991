import type { CompatibilityMode, CompatibilityPolicy, CompatibilityViolation } from './types.js';

/**
 * JSON Schema compatibility, after Confluent Schema Registry's rules (its `SchemaDiff` and difference
 * types), for a defined subset of JSON Schema: type, enum/const, properties, required,
 * additionalProperties (open, closed and partially open content models, patternProperties included),
 * items (one schema for all items), numeric bounds, multipleOf, string lengths, pattern, format,
 * min/maxItems, uniqueItems, min/maxProperties. Any other validating keyword (anyOf, $ref, not, if, …)
 * must be unchanged between versions, else the change is `UNSUPPORTED_KEYWORD_CHANGED` (incompatible):
 * conservative, never a false "compatible".
 *
 * `diffSchemas(original, update)` lists how `update` differs from `original`. A difference is compatible
 * when every instance valid under `original` stays valid under `update` (the reader is `update`):
 * BACKWARD compares (old → new), FORWARD (new → old), FULL both.
 */

export interface SchemaDifference {
  readonly type: string;
  readonly path: string;
}

/** Confluent's default (strict) set of compatible difference types, plus FORMAT_REMOVED. */
export const COMPATIBLE_STRICT: ReadonlySet<string> = new Set([
  'SCHEMA_REMOVED',
  'TYPE_EXTENDED',
  'MAX_LENGTH_INCREASED',
  'MAX_LENGTH_REMOVED',
  'MIN_LENGTH_DECREASED',
  'MIN_LENGTH_REMOVED',
  'PATTERN_REMOVED',
  'FORMAT_REMOVED',
  'MAXIMUM_INCREASED',
  'MAXIMUM_REMOVED',
  'MINIMUM_DECREASED',
  'MINIMUM_REMOVED',
  'EXCLUSIVE_MAXIMUM_INCREASED',
  'EXCLUSIVE_MAXIMUM_REMOVED',
  'EXCLUSIVE_MINIMUM_DECREASED',
  'EXCLUSIVE_MINIMUM_REMOVED',
  'MULTIPLE_OF_REDUCED',
  'MULTIPLE_OF_REMOVED',
  'REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED',
  'REQUIRED_ATTRIBUTE_REMOVED',
  'MAX_PROPERTIES_INCREASED',
  'MAX_PROPERTIES_REMOVED',
  'MIN_PROPERTIES_DECREASED',
  'MIN_PROPERTIES_REMOVED',
  'ADDITIONAL_PROPERTIES_ADDED',
  'ADDITIONAL_PROPERTIES_EXTENDED',
  'PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL',
  'REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL',
  'OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL',
  'PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL',
  'PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL',
  'PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
  'PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
  'MAX_ITEMS_INCREASED',
  'MAX_ITEMS_REMOVED',
  'MIN_ITEMS_DECREASED',
  'MIN_ITEMS_REMOVED',
  'UNIQUE_ITEMS_REMOVED',
  'ENUM_ARRAY_EXTENDED',
]);

/** Confluent's lenient set: also accepts content-model changes that event tracking makes all the time. */
export const COMPATIBLE_LENIENT: ReadonlySet<string> = new Set([
  ...COMPATIBLE_STRICT,
  'ADDITIONAL_PROPERTIES_NARROWED',
  'ADDITIONAL_PROPERTIES_REMOVED',
  'PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL',
  'PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
  'PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
]);

export function compatibleSet(policy: CompatibilityPolicy): ReadonlySet<string> {
  return policy === 'strict' ? COMPATIBLE_STRICT : COMPATIBLE_LENIENT;
}

type SchemaObject = Record<string, unknown>;

/** Keywords that only annotate: changing them never changes which instances are valid. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  '$comment',
  '$schema',
  '$id',
  'id',
  'readOnly',
  'writeOnly',
  'deprecated',
  'contentMediaType',
]);

/** Validating keywords outside the supported subset: they must stay equal. */
const UNSUPPORTED = [
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  '$ref',
  '$defs',
  'definitions',
  'if',
  'then',
  'else',
  'dependencies',
  'dependentRequired',
  'dependentSchemas',
  'propertyNames',
  'patternProperties',
  'contains',
  'minContains',
  'maxContains',
  'prefixItems',
  'additionalItems',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contentEncoding',
  'contentSchema',
] as const;

const OBJECT_KEYWORDS = [
  'properties',
  'required',
  'additionalProperties',
  'patternProperties',
  'minProperties',
  'maxProperties',
];
const ARRAY_KEYWORDS = ['items', 'minItems', 'maxItems', 'uniqueItems'];
const STRING_KEYWORDS = ['minLength', 'maxLength', 'pattern'];
const NUMBER_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'];

const MAX_SCHEMA_DEPTH = 64;

class Context {
  readonly differences: SchemaDifference[] = [];
  constructor(readonly compatible: ReadonlySet<string>) {}
  add(type: string, path: string): void {
    this.differences.push({ type, path });
  }
  isCompatible(): boolean {
    return this.differences.every((d) => this.compatible.has(d.type));
  }
}

function isObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for schemas that accept every instance (`true`, `{}`, annotations only). */
function isEmptySchema(schema: unknown): boolean {
  if (schema === true || schema === undefined) return true;
  if (!isObject(schema)) return false;
  for (const key in schema) if (!ANNOTATIONS.has(key)) return false;
  return true;
}

/** Canonical JSON (sorted keys) for equality of keyword values. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  if (isObject(value)) {
    return (
      '{' +
      Object.keys(value)
        .sort()
        .map((k) => JSON.stringify(k) + ':' + canonicalJson(value[k]))
        .join(',') +
      '}'
    );
  }
  return JSON.stringify(value) ?? 'undefined';
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function enumValues(schema: SchemaObject): unknown[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum as unknown[];
  if ('const' in schema) return [schema.const];
  return undefined;
}

/** The instance types a schema admits, or undefined for "any" (declared `type`, else inferred from keywords). */
function effectiveTypes(schema: SchemaObject): Set<string> | undefined {
  const declared = schema.type;
  if (typeof declared === 'string') return new Set([declared]);
  if (Array.isArray(declared)) return new Set(declared.filter((t): t is string => typeof t === 'string'));
  const values = enumValues(schema);
  if (values) return new Set(values.map(jsonType));
  const families: string[] = [];
  if (OBJECT_KEYWORDS.some((k) => k in schema)) families.push('object');
  if (ARRAY_KEYWORDS.some((k) => k in schema)) families.push('array');
  if (STRING_KEYWORDS.some((k) => k in schema)) families.push('string');
  if (NUMBER_KEYWORDS.some((k) => k in schema)) families.push('number');
  return families.length === 1 ? new Set(families) : undefined;
}

function covers(types: Set<string>, type: string): boolean {
  return types.has(type) || (type === 'integer' && types.has('number'));
}

function compareTypes(
  original: Set<string> | undefined,
  update: Set<string> | undefined,
): 'same' | 'extended' | 'narrowed' | 'changed' {
  if (original === undefined) return update === undefined ? 'same' : 'narrowed';
  if (update === undefined) return 'extended';
  const originalInUpdate = [...original].every((t) => covers(update, t));
  const updateInOriginal = [...update].every((t) => covers(original, t));
  if (originalInUpdate && updateInOriginal) return 'same';
  if (originalInUpdate) return 'extended';
  if (updateInOriginal) return 'narrowed';
  return 'changed';
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** ADDED / REMOVED / INCREASED / DECREASED of a numeric bound. */
function compareBound(
  ctx: Context,
  original: SchemaObject,
  update: SchemaObject,
  keyword: string,
  name: string,
  path: string,
): void {
  const o = numberOrUndefined(original[keyword]);
  const u = numberOrUndefined(update[keyword]);
  if (o === u) return;
  const at = `${path}/${keyword}`;
  if (o === undefined) ctx.add(`${name}_ADDED`, at);
  else if (u === undefined) ctx.add(`${name}_REMOVED`, at);
  else ctx.add(u > o ? `${name}_INCREASED` : `${name}_DECREASED`, at);
}

function compareEnum(ctx: Context, original: SchemaObject, update: SchemaObject, path: string): void {
  const o = enumValues(original);
  const u = enumValues(update);
  if (o === undefined && u === undefined) return;
  const at = `${path}/enum`;
  if (o === undefined) return ctx.add('ENUM_ARRAY_NARROWED', at);
  if (u === undefined) return ctx.add('ENUM_ARRAY_EXTENDED', at);
  const os = new Set(o.map(canonicalJson));
  const us = new Set(u.map(canonicalJson));
  const originalInUpdate = [...os].every((v) => us.has(v));
  const updateInOriginal = [...us].every((v) => os.has(v));
  if (originalInUpdate && updateInOriginal) return;
  ctx.add(
    originalInUpdate ? 'ENUM_ARRAY_EXTENDED' : updateInOriginal ? 'ENUM_ARRAY_NARROWED' : 'ENUM_ARRAY_CHANGED',
    at,
  );
}

function compareString(ctx: Context, original: SchemaObject, update: SchemaObject, path: string): void {
  compareBound(ctx, original, update, 'maxLength', 'MAX_LENGTH', path);
  compareBound(ctx, original, update, 'minLength', 'MIN_LENGTH', path);
  for (const [keyword, name] of [
    ['pattern', 'PATTERN'],
    ['format', 'FORMAT'],
  ] as const) {
    const o = original[keyword];
    const u = update[keyword];
    if (o === u) continue;
    const at = `${path}/${keyword}`;
    if (o === undefined) ctx.add(`${name}_ADDED`, at);
    else if (u === undefined) ctx.add(`${name}_REMOVED`, at);
    else ctx.add(`${name}_CHANGED`, at);
  }
}

function isMultiple(value: number, of: number): boolean {
  const q = value / of;
  return Math.abs(q - Math.round(q)) < 1e-9;
}

function compareNumber(ctx: Context, original: SchemaObject, update: SchemaObject, path: string): void {
  compareBound(ctx, original, update, 'maximum', 'MAXIMUM', path);
  compareBound(ctx, original, update, 'minimum', 'MINIMUM', path);
  // Draft-04 boolean exclusive bounds are outside the subset (compared for equality with the rest).
  if (typeof original.exclusiveMaximum !== 'boolean' && typeof update.exclusiveMaximum !== 'boolean') {
    compareBound(ctx, original, update, 'exclusiveMaximum', 'EXCLUSIVE_MAXIMUM', path);
  } else if (original.exclusiveMaximum !== update.exclusiveMaximum) {
    ctx.add('UNSUPPORTED_KEYWORD_CHANGED', `${path}/exclusiveMaximum`);
  }
  if (typeof original.exclusiveMinimum !== 'boolean' && typeof update.exclusiveMinimum !== 'boolean') {
    compareBound(ctx, original, update, 'exclusiveMinimum', 'EXCLUSIVE_MINIMUM', path);
  } else if (original.exclusiveMinimum !== update.exclusiveMinimum) {
    ctx.add('UNSUPPORTED_KEYWORD_CHANGED', `${path}/exclusiveMinimum`);
  }
  const o = numberOrUndefined(original.multipleOf);
  const u = numberOrUndefined(update.multipleOf);
  if (o === u) return;
  const at = `${path}/multipleOf`;
  if (o === undefined) ctx.add('MULTIPLE_OF_ADDED', at);
  else if (u === undefined) ctx.add('MULTIPLE_OF_REMOVED', at);
  // Every multiple of 4 is a multiple of 2: a divisor of the old step reads all old values.
  else if (isMultiple(o, u)) ctx.add('MULTIPLE_OF_REDUCED', at);
  else if (isMultiple(u, o)) ctx.add('MULTIPLE_OF_EXPANDED', at);
  else ctx.add('MULTIPLE_OF_CHANGED', at);
}

function hasDefault(schema: unknown): boolean {
  return isObject(schema) && 'default' in schema;
}

function patternMatches(pattern: string, key: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(key);
  } catch {
    return false;
  }
}

/**
 * What an object schema says about a property it does not list: `true` (open: anything), `false`
 * (closed: not allowed) or the schema that applies (partially open: patternProperties, then
 * additionalProperties).
 */
function schemaForUnlisted(schema: SchemaObject, key: string): unknown {
  const patterns = schema.patternProperties;
  if (isObject(patterns)) {
    for (const pattern of Object.keys(patterns)) if (patternMatches(pattern, key)) return patterns[pattern];
  }
  const additional = schema.additionalProperties;
  if (additional === false) return false;
  return isEmptySchema(additional) ? true : additional;
}

function contentModel(unlisted: unknown): 'open' | 'closed' | 'partial' {
  if (unlisted === false) return 'closed';
  return isEmptySchema(unlisted) ? 'open' : 'partial';
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function covered(ctx: Context, original: unknown, update: unknown, depth: number): boolean {
  const sub = new Context(ctx.compatible);
  compare(sub, original, update, '#', depth + 1);
  return sub.isCompatible();
}

function compareObject(ctx: Context, original: SchemaObject, update: SchemaObject, path: string, depth: number): void {
  if (!OBJECT_KEYWORDS.some((k) => k in original || k in update)) return;
  const oProps = isObject(original.properties) ? original.properties : {};
  const uProps = isObject(update.properties) ? update.properties : {};
  const oRequired = new Set(stringArray(original.required));
  const uRequired = new Set(stringArray(update.required));

  for (const name of uRequired) {
    if (oRequired.has(name)) continue;
    // A property that is new in a closed original is reported once, as REQUIRED_PROPERTY_…_UNOPEN_….
    const isNew = name in uProps && !(name in oProps);
    if (isNew && contentModel(schemaForUnlisted(original, name)) === 'closed') continue;
    ctx.add(
      hasDefault(uProps[name]) ? 'REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED' : 'REQUIRED_ATTRIBUTE_ADDED',
      `${path}/required/${name}`,
    );
  }
  for (const name of oRequired)
    if (!uRequired.has(name)) ctx.add('REQUIRED_ATTRIBUTE_REMOVED', `${path}/required/${name}`);

  const keys = new Set([...Object.keys(oProps), ...Object.keys(uProps)]);
  for (const key of keys) {
    const at = `${path}/properties/${key}`;
    const inOriginal = key in oProps;
    const inUpdate = key in uProps;
    if (inOriginal && inUpdate) {
      compare(ctx, oProps[key], uProps[key], at, depth + 1);
    } else if (inOriginal) {
      // Removed: what the update does with the now-unlisted property decides.
      const unlisted = schemaForUnlisted(update, key);
      const model = contentModel(unlisted);
      if (model === 'open') ctx.add('PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL', at);
      else if (model === 'closed') {
        ctx.add(
          oProps[key] === false
            ? 'PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL'
            : 'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL',
          at,
        );
      } else {
        ctx.add(
          covered(ctx, oProps[key], unlisted, depth)
            ? 'PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL'
            : 'PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
          at,
        );
      }
    } else {
      // Added: what the original allowed under that name decides.
      const unlisted = schemaForUnlisted(original, key);
      const model = contentModel(unlisted);
      if (model === 'open') {
        ctx.add(
          isEmptySchema(uProps[key])
            ? 'PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL'
            : 'PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL',
          at,
        );
      } else if (model === 'partial') {
        ctx.add(
          covered(ctx, unlisted, uProps[key], depth)
            ? 'PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL'
            : 'PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
          at,
        );
      } else if (uRequired.has(key)) {
        ctx.add(
          hasDefault(uProps[key])
            ? 'REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL'
            : 'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL',
          at,
        );
      } else {
        ctx.add('OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL', at);
      }
    }
  }

  const oAdditional = original.additionalProperties;
  const uAdditional = update.additionalProperties;
  const at = `${path}/additionalProperties`;
  const oPermits = oAdditional !== false;
  const uPermits = uAdditional !== false;
  if (oPermits !== uPermits) ctx.add(uPermits ? 'ADDITIONAL_PROPERTIES_ADDED' : 'ADDITIONAL_PROPERTIES_REMOVED', at);
  else if (oPermits) {
    const oOpen = isEmptySchema(oAdditional);
    const uOpen = isEmptySchema(uAdditional);
    if (oOpen && !uOpen) ctx.add('ADDITIONAL_PROPERTIES_NARROWED', at);
    else if (!oOpen && uOpen) ctx.add('ADDITIONAL_PROPERTIES_EXTENDED', at);
    else if (!oOpen && !uOpen) compare(ctx, oAdditional, uAdditional, at, depth + 1);
  }
  compareBound(ctx, original, update, 'maxProperties', 'MAX_PROPERTIES', path);
  compareBound(ctx, original, update, 'minProperties', 'MIN_PROPERTIES', path);
}

function compareArray(ctx: Context, original: SchemaObject, update: SchemaObject, path: string, depth: number): void {
  const oItems = original.items;
  const uItems = update.items;
  const at = `${path}/items`;
  if (Array.isArray(oItems) || Array.isArray(uItems)) {
    // Tuple validation is outside the subset.
    if (canonicalJson(oItems) !== canonicalJson(uItems)) ctx.add('UNSUPPORTED_KEYWORD_CHANGED', at);
  } else if (isEmptySchema(uItems)) {
    if (!isEmptySchema(oItems)) ctx.add('SCHEMA_REMOVED', at);
  } else if (isEmptySchema(oItems)) {
    ctx.add('SCHEMA_ADDED', at);
  } else {
    compare(ctx, oItems, uItems, at, depth + 1);
  }
  compareBound(ctx, original, update, 'maxItems', 'MAX_ITEMS', path);
  compareBound(ctx, original, update, 'minItems', 'MIN_ITEMS', path);
  const oUnique = original.uniqueItems === true;
  const uUnique = update.uniqueItems === true;
  if (oUnique !== uUnique) ctx.add(uUnique ? 'UNIQUE_ITEMS_ADDED' : 'UNIQUE_ITEMS_REMOVED', `${path}/uniqueItems`);
}

function compare(ctx: Context, original: unknown, update: unknown, path: string, depth: number): void {
  if (isEmptySchema(update) || original === false) return;
  if (depth > MAX_SCHEMA_DEPTH) {
    if (canonicalJson(original) !== canonicalJson(update)) ctx.add('UNSUPPORTED_KEYWORD_CHANGED', path);
    return;
  }
  if (update === false || !isObject(update)) return ctx.add('TYPE_CHANGED', path);
  if (isEmptySchema(original)) return ctx.add('TYPE_NARROWED', path);
  if (!isObject(original)) return ctx.add('TYPE_CHANGED', path);

  for (const keyword of UNSUPPORTED) {
    if (
      (keyword in original || keyword in update) &&
      canonicalJson(original[keyword]) !== canonicalJson(update[keyword])
    ) {
      ctx.add('UNSUPPORTED_KEYWORD_CHANGED', `${path}/${keyword}`);
    }
  }
  const types = compareTypes(effectiveTypes(original), effectiveTypes(update));
  if (types === 'changed') return ctx.add('TYPE_CHANGED', `${path}/type`);
  if (types === 'extended') ctx.add('TYPE_EXTENDED', `${path}/type`);
  if (types === 'narrowed') ctx.add('TYPE_NARROWED', `${path}/type`);

  compareEnum(ctx, original, update, path);
  compareString(ctx, original, update, path);
  compareNumber(ctx, original, update, path);
  compareObject(ctx, original, update, path, depth);
  compareArray(ctx, original, update, path, depth);
}

/** Every difference between two schemas (compatible or not), with JSON-pointer-like paths (`#/properties/x`). */
export function diffSchemas(
  original: unknown,
  update: unknown,
  policy: CompatibilityPolicy = 'lenient',
): SchemaDifference[] {
  const ctx = new Context(compatibleSet(policy));
  compare(ctx, original, update, '#', 0);
  return ctx.differences;
}

/** The differences that break compatibility under `policy`. */
export function incompatibleDifferences(
  original: unknown,
  update: unknown,
  policy: CompatibilityPolicy,
): SchemaDifference[] {
  const compatible = compatibleSet(policy);
  return diffSchemas(original, update, policy).filter((d) => !compatible.has(d.type));
}

/**
 * Checks a candidate schema against the registered versions (ascending) under a compatibility mode:
 * BACKWARD (new reads old data), FORWARD (old reads new data), FULL (both); `_TRANSITIVE` checks every
 * earlier version, the others only the latest. Empty when compatible.
 */
export function checkCompatibility(
  mode: CompatibilityMode,
  policy: CompatibilityPolicy,
  candidate: unknown,
  versions: readonly { readonly version: number; readonly schema: unknown }[],
): CompatibilityViolation[] {
  if (mode === 'NONE' || versions.length === 0) return [];
  const targets = mode.endsWith('_TRANSITIVE') ? versions : versions.slice(-1);
  const backward = mode.startsWith('BACKWARD') || mode.startsWith('FULL');
  const forward = mode.startsWith('FORWARD') || mode.startsWith('FULL');
  const violations: CompatibilityViolation[] = [];
  for (const target of targets) {
    if (backward) {
      for (const d of incompatibleDifferences(target.schema, candidate, policy)) {
        violations.push({ type: d.type, path: d.path, direction: 'BACKWARD', version: target.version });
      }
    }
    if (forward) {
      for (const d of incompatibleDifferences(candidate, target.schema, policy)) {
        violations.push({ type: d.type, path: d.path, direction: 'FORWARD', version: target.version });
      }
    }
  }
  return violations;
}
