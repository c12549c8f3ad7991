import { randomUUID } from 'node:crypto';
import type { EventType, JsonObject } from '../core/index.js';
import { CollectErrors, type MessageErrorCode } from './errors.js';
import type { ResolvedCollectorOptions } from './options.js';
import { computeEventTimeMs, formatIsoTimestamp, parseIsoTimestamp } from './timestamp.js';

/** What every message of one request shares, computed once per request. */
export interface BatchEnvelope {
  readonly receivedAtMs: number;
  /** `receivedAtMs` as ISO 8601. */
  readonly receivedAt: string;
  /** Batch-level sentAt, already parsed (a message's own sentAt wins). */
  readonly sentAtMs?: number;
  readonly sentAt?: string;
  readonly context?: JsonObject;
  readonly impliedType?: EventType;
  readonly checkForbiddenKeys: boolean;
}

/** A compiled schema of the registry, as validation needs it. */
export interface CompiledSchema {
  readonly version: number;
  validate(data: unknown): boolean;
  /** The first error of the last failed `validate` (ajv's shape). */
  firstError():
    | {
        readonly instancePath: string;
        readonly schemaPath: string;
        readonly keyword: string;
        readonly message?: string;
      }
    | undefined;
}

export interface SchemaLookup {
  lookup(event: string): CompiledSchema | undefined;
}

export interface ValidMessage<Json extends string | Uint8Array = string | Uint8Array> {
  readonly ok: true;
  readonly index: number;
  readonly messageId: string;
  readonly type: EventType;
  readonly userId: string | undefined;
  readonly anonymousId: string | undefined;
  readonly previousId: string | undefined;
  readonly eventTimeMs: number;
  readonly receivedAtMs: number;
  /**
   * The stored event as JSON, without the routing fields (`profileKey`, `links`) the router adds: text
   * from `checkMessage`, UTF-8 bytes from the fast path (`checkScannedMessage`).
   */
  readonly json: Json;
}

export interface InvalidMessage {
  readonly ok: false;
  readonly index: number;
  readonly messageId: string;
  /** True when the client sent a usable messageId (dead letters are deduplicated by it). */
  readonly clientMessageId: boolean;
  readonly code: MessageErrorCode;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export type CheckedMessage = ValidMessage<string> | InvalidMessage;

/** Thrown inside validation only; turned into an InvalidMessage (rare path, so a throw costs nothing on the hot path). */
class Problem extends Error {
  constructor(
    readonly code: MessageErrorCode,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

const TYPES: ReadonlySet<string> = new Set<EventType>(['track', 'page', 'screen', 'identify', 'alias', 'group']);

function pointerOf(segments: readonly string[]): string {
  let out = '';
  for (const s of segments) out += '/' + s.replace(/~/g, '~0').replace(/\//g, '~1');
  return out;
}

interface StructureProblem {
  readonly code: 'COLLECT_TOO_DEEP' | 'COLLECT_FORBIDDEN_KEY';
  /** Reversed: the innermost segment first (pushed while unwinding). */
  readonly path: string[];
}

/**
 * One walk for both structural checks: depth (always; it also bounds this recursion) and, when the raw
 * text could contain one, keys that could reach a prototype (`__proto__`, `constructor`, `prototype`).
 */
function checkStructure(
  value: object,
  depth: number,
  maxDepth: number,
  checkKeys: boolean,
): StructureProblem | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) {
        if (depth >= maxDepth) return { code: 'COLLECT_TOO_DEEP', path: [String(i)] };
        const problem = checkStructure(item, depth + 1, maxDepth, checkKeys);
        if (problem) {
          problem.path.push(String(i));
          return problem;
        }
      }
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (checkKeys && (key === '__proto__' || key === 'constructor' || key === 'prototype')) {
      return { code: 'COLLECT_FORBIDDEN_KEY', path: [key] };
    }
    const item = record[key];
    if (typeof item === 'object' && item !== null) {
      if (depth >= maxDepth) return { code: 'COLLECT_TOO_DEEP', path: [key] };
      const problem = checkStructure(item, depth + 1, maxDepth, checkKeys);
      if (problem) {
        problem.path.push(key);
        return problem;
      }
    }
  }
  return undefined;
}

function idField(value: unknown, field: string, maxLength: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    if (value.length === 0) return undefined;
    if (value.length > maxLength) {
      throw new Problem('COLLECT_INVALID_FIELD', `${field} is longer than ${maxLength} characters`, {
        pointer: `/${field}`,
        maxLength,
      });
    }
    return value;
  }
  // Segment coerces numeric ids to strings (e.g. database ids sent as numbers).
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new Problem('COLLECT_INVALID_FIELD', `${field} must be a string`, { pointer: `/${field}`, got: typeOf(value) });
}

function objectField(value: unknown, field: string): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object' && !Array.isArray(value)) return value as JsonObject;
  throw new Problem('COLLECT_INVALID_FIELD', `${field} must be an object`, {
    pointer: `/${field}`,
    got: typeOf(value),
  });
}

function nameField(value: unknown, field: string, maxLength: number, required: boolean): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (required) throw new Problem('COLLECT_MISSING_FIELD', `${field} is required`, { pointer: `/${field}` });
    return undefined;
  }
  if (typeof value !== 'string') {
    throw new Problem('COLLECT_INVALID_FIELD', `${field} must be a string`, {
      pointer: `/${field}`,
      got: typeOf(value),
    });
  }
  if (value.length > maxLength) {
    throw new Problem('COLLECT_INVALID_FIELD', `${field} is longer than ${maxLength} characters`, {
      pointer: `/${field}`,
      maxLength,
    });
  }
  return value;
}

function timestampField(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'string' ? parseIsoTimestamp(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new Problem('COLLECT_INVALID_TIMESTAMP', `${field} is not an ISO-8601 date-time`, {
      pointer: `/${field}`,
      got: typeof value === 'string' ? value.slice(0, 64) : typeOf(value),
    });
  }
  return ms;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function generateMessageId(): string {
  return `kairos-${randomUUID()}`;
}

/** The messageId a rejection is reported under: the client's when usable, else a generated one. */
function readMessageId(raw: Record<string, unknown>, maxIdLength: number): string | undefined {
  const value = raw.messageId;
  if (typeof value === 'string') return value.length > 0 && value.length <= maxIdLength ? value : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Validates one Segment-spec message and normalises it into the stored event (KairosEvent minus the
 * routing fields), serialised once. Never throws: a bad message comes back as an InvalidMessage with a
 * stable code and a JSON pointer.
 *
 * `fallbackMessageId` is used when the message has none (replays keep the id given at first arrival).
 */
export function checkMessage(
  raw: unknown,
  index: number,
  env: BatchEnvelope,
  options: ResolvedCollectorOptions,
  schemas: SchemaLookup | undefined,
  fallbackMessageId?: string,
): CheckedMessage {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return invalid(
      index,
      fallbackMessageId ?? generateMessageId(),
      false,
      'COLLECT_INVALID_MESSAGE',
      'The message is not a JSON object',
      {
        pointer: '',
        got: typeOf(raw),
      },
    );
  }
  const m = raw as Record<string, unknown>;
  const clientId = readMessageId(m, options.maxIdLength);
  const messageId = clientId ?? fallbackMessageId ?? generateMessageId();
  try {
    const structure = checkStructure(m, 1, options.maxDepth, env.checkForbiddenKeys);
    if (structure) {
      const pointer = pointerOf(structure.path.reverse());
      throw structure.code === 'COLLECT_TOO_DEEP'
        ? new Problem('COLLECT_TOO_DEEP', `Nesting deeper than ${options.maxDepth} levels at ${pointer}`, {
            pointer,
            maxDepth: options.maxDepth,
          })
        : new Problem('COLLECT_FORBIDDEN_KEY', `Forbidden key at ${pointer}`, { pointer });
    }
    if (clientId === undefined && m.messageId !== undefined && m.messageId !== null && m.messageId !== '') {
      throw new Problem(
        'COLLECT_INVALID_FIELD',
        `messageId must be a string of at most ${options.maxIdLength} characters`,
        {
          pointer: '/messageId',
        },
      );
    }

    let type: EventType;
    const rawType = m.type;
    if (rawType === undefined || rawType === null) {
      if (env.impliedType === undefined)
        throw new Problem('COLLECT_INVALID_TYPE', 'type is required', { pointer: '/type' });
      type = env.impliedType;
    } else if (typeof rawType !== 'string' || !TYPES.has(rawType)) {
      throw new Problem('COLLECT_INVALID_TYPE', 'type must be one of track, page, screen, identify, alias, group', {
        pointer: '/type',
        got: typeof rawType === 'string' ? rawType.slice(0, 64) : typeOf(rawType),
      });
    } else {
      type = rawType as EventType;
      if (env.impliedType !== undefined && type !== env.impliedType) {
        throw new Problem('COLLECT_INVALID_TYPE', `type ${type} sent to the ${env.impliedType} route`, {
          pointer: '/type',
          expected: env.impliedType,
        });
      }
    }

    const maxId = options.maxIdLength;
    const userId = idField(m.userId, 'userId', maxId);
    const anonymousId = idField(m.anonymousId, 'anonymousId', maxId);
    let event: string | undefined;
    let name: string | undefined;
    let previousId: string | undefined;
    let groupId: string | undefined;
    switch (type) {
      case 'track':
        event = nameField(m.event, 'event', options.maxEventNameLength, true);
        break;
      case 'page':
      case 'screen':
        name = nameField(m.name, 'name', options.maxEventNameLength, false);
        break;
      case 'alias':
        previousId = idField(m.previousId, 'previousId', maxId);
        if (previousId === undefined)
          throw new Problem('COLLECT_MISSING_FIELD', 'alias needs previousId', { pointer: '/previousId' });
        if (userId === undefined)
          throw new Problem('COLLECT_MISSING_FIELD', 'alias needs userId', { pointer: '/userId' });
        break;
      case 'group':
        groupId = idField(m.groupId, 'groupId', maxId);
        if (groupId === undefined)
          throw new Problem('COLLECT_MISSING_FIELD', 'group needs groupId', { pointer: '/groupId' });
        break;
      default:
        break;
    }
    if (userId === undefined && anonymousId === undefined) {
      throw new Problem('COLLECT_MISSING_IDENTITY', 'The message needs a userId or an anonymousId', {
        pointer: '/userId',
      });
    }

    let properties = objectField(m.properties, 'properties');
    const traits = objectField(m.traits, 'traits');
    const ownContext = objectField(m.context, 'context');
    const context =
      env.context === undefined
        ? ownContext
        : ownContext === undefined
          ? env.context
          : { ...env.context, ...ownContext };

    // `originalTimestamp` is what some SDKs call the client's timestamp.
    const timestampIsOriginal = m.timestamp === undefined || m.timestamp === null;
    const rawTimestamp = timestampIsOriginal ? m.originalTimestamp : m.timestamp;
    const timestampMs = timestampField(rawTimestamp, timestampIsOriginal ? 'originalTimestamp' : 'timestamp');
    const ownSentAtMs = timestampField(m.sentAt, 'sentAt');
    const sentAtMs = ownSentAtMs ?? env.sentAtMs;
    const sentAt = ownSentAtMs === undefined ? env.sentAt : (m.sentAt as string);
    const eventTimeMs = computeEventTimeMs(timestampMs, sentAtMs, env.receivedAtMs);
    if (Number.isNaN(eventTimeMs)) {
      throw new Problem('COLLECT_INVALID_TIMESTAMP', 'The skew-corrected event time is out of range', {
        pointer: '/timestamp',
      });
    }

    if (event !== undefined && schemas !== undefined) {
      const schema = schemas.lookup(event);
      if (schema !== undefined) {
        // Defaults declared in the schema are filled in (ajv useDefaults), so validate the object we store.
        properties ??= {};
        if (!schema.validate(properties)) {
          const error = schema.firstError();
          const instancePath = '/properties' + (error?.instancePath ?? '');
          throw new Problem(
            'COLLECT_SCHEMA_VIOLATION',
            `properties ${error?.message ?? 'do not match the schema'} (at ${instancePath})`,
            {
              event,
              version: schema.version,
              schemaPath: error?.schemaPath ?? '#',
              instancePath,
              keyword: error?.keyword,
            },
          );
        }
      }
    }

    const json = JSON.stringify({
      messageId,
      type,
      event,
      name,
      userId,
      anonymousId,
      previousId,
      groupId,
      properties,
      traits,
      context,
      timestamp: eventTimeMs === env.receivedAtMs ? env.receivedAt : formatIsoTimestamp(eventTimeMs),
      eventTimeMs,
      originalTimestamp:
        timestampMs !== undefined && timestampMs !== eventTimeMs ? (rawTimestamp as string) : undefined,
      sentAt,
      receivedAt: env.receivedAt,
      receivedAtMs: env.receivedAtMs,
    });
    // UTF-8 needs at least one byte per UTF-16 unit and at most three: measure bytes only in between.
    const max = options.maxMessageBytes;
    if (json.length > max || (json.length * 3 > max && Buffer.byteLength(json) > max)) {
      throw new Problem('COLLECT_MESSAGE_TOO_LARGE', `The message is larger than ${max} bytes`, {
        pointer: '',
        maxBytes: max,
      });
    }
    return {
      ok: true,
      index,
      messageId,
      type,
      userId,
      anonymousId,
      previousId,
      eventTimeMs,
      receivedAtMs: env.receivedAtMs,
      json,
    };
  } catch (error) {
    if (error instanceof Problem)
      return invalid(index, messageId, clientId !== undefined, error.code, error.message, error.details);
    throw error;
  }
}

function invalid(
  index: number,
  messageId: string,
  clientMessageId: boolean,
  code: MessageErrorCode,
  message: string,
  details: Record<string, unknown>,
): InvalidMessage {
  return { ok: false, index, messageId, clientMessageId, code, message, details };
}

/**
 * Reads a batch envelope's `sentAt`: invalid means the whole request is malformed (it applies to every
 * message), so it is a request-level COLLECT_INVALID_BATCH.
 */
export function parseEnvelopeSentAt(value: unknown): { sentAtMs?: number; sentAt?: string } {
  if (value === undefined || value === null) return {};
  const ms = typeof value === 'string' ? parseIsoTimestamp(value) : NaN;
  if (Number.isNaN(ms)) {
    throw CollectErrors.create('COLLECT_INVALID_BATCH', 'The batch sentAt is not an ISO-8601 date-time', {
      details: { pointer: '/sentAt' },
    });
  }
  return { sentAtMs: ms, sentAt: value as string };
}

/**
 * The envelope's `context`: an object or absent, held to the same structural rules as a message (it is
 * merged into each message's `context`, one level down). Anything else is COLLECT_INVALID_BATCH.
 */
export function parseEnvelopeContext(
  value: unknown,
  maxDepth: number,
  checkForbiddenKeys: boolean,
): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw CollectErrors.create('COLLECT_INVALID_BATCH', 'The batch context must be an object', {
      details: { pointer: '/context' },
    });
  }
  const problem = checkStructure(value, 2, maxDepth, checkForbiddenKeys);
  if (problem) {
    const pointer = '/context' + pointerOf(problem.path.reverse());
    throw CollectErrors.create(
      'COLLECT_INVALID_BATCH',
      `The batch context is invalid at ${pointer} (${problem.code})`,
      {
        details: { pointer, reason: problem.code },
      },
    );
  }
  return value as JsonObject;
}
