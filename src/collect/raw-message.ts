import type { EventType } from '../core/index.js';
import type { ResolvedCollectorOptions } from './options.js';
import type { IngestContext } from './types.js';
import {
  ESCAPED,
  Field,
  KIND_MASK,
  Kind,
  MESSAGE_SLOTS,
  NON_ASCII,
  SPACED,
  decodeString,
  type ScannedBody,
} from './scan.js';
import { computeEventTimeMs, formatIsoTimestamp, parseCanonicalBytes, parseIsoTimestamp } from './timestamp.js';
import { generateMessageId, type BatchEnvelope, type SchemaLookup, type ValidMessage } from './validate.js';

/*
 * The fast path's `checkMessage`: the same rules, read from the scanned bytes, and the stored event
 * written as bytes — byte for byte what `checkMessage` serialises (same fields, same order), with the
 * client's bytes of ids, names, `properties`, `traits` and `context` copied instead of re-serialised.
 * It only accepts: a message `checkMessage` would reject (or one it would treat in a way not handled
 * here, such as numeric ids) makes it answer undefined, and the whole request takes the general path.
 */

const SLOT = 3;

/**
 * Stored events of one request, written back to back. The buffer starts with a copy of the request
 * body, so the client's bytes are copied with `copyWithin` (no view object per copy, which `set` of a
 * `subarray` needs); source offsets are body offsets.
 */
export class RecordWriter {
  /** A plain Uint8Array view: its `subarray` is much cheaper than Buffer's. */
  private buf: Uint8Array;
  /** The same memory as a Buffer, for its native latin1 writes. */
  private text_: Buffer;
  private readonly sourceBytes: number;
  private pos: number;
  private start: number;

  constructor(source: Uint8Array, sizeHint: number) {
    this.sourceBytes = source.length;
    // Below 4 KiB this comes from Node's buffer pool (a single event, say).
    this.text_ = Buffer.allocUnsafe(source.length + Math.max(256, sizeHint));
    this.buf = new Uint8Array(this.text_.buffer, this.text_.byteOffset, this.text_.length);
    this.buf.set(source);
    this.pos = this.start = source.length;
  }

  begin(): void {
    this.start = this.pos;
  }

  /** The record written since `begin()`. */
  end(): Uint8Array {
    return this.buf.subarray(this.start, this.pos);
  }

  /** Makes room for `n` more bytes; a record never spans two buffers (the started one moves). */
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const used = this.pos - this.start;
    const next = Buffer.allocUnsafe(this.sourceBytes + Math.max(this.buf.length, 2 * (used + n)));
    const view = new Uint8Array(next.buffer, next.byteOffset, next.length);
    view.set(this.buf.subarray(0, this.sourceBytes));
    view.set(this.buf.subarray(this.start, this.pos), this.sourceBytes);
    this.buf = view;
    this.text_ = next;
    this.start = this.sourceBytes;
    this.pos = this.sourceBytes + used;
  }

  /** ASCII text (numbers, timestamps). */
  ascii(text: string): void {
    this.ensure(text.length);
    this.pos += this.text_.write(text, this.pos, 'latin1');
  }

  /** A few bytes are copied by a loop, more by one native call. */
  bytes(src: Uint8Array): void {
    const n = src.length;
    this.ensure(n);
    const buf = this.buf;
    if (n <= 16) {
      let p = this.pos;
      for (let i = 0; i < n; i++) buf[p++] = src[i]!;
    } else buf.set(src, this.pos);
    this.pos += n;
  }

  text(text: string): void {
    this.ensure(3 * text.length);
    this.pos += this.text_.write(text, this.pos, 'utf8');
  }

  /** Copies bytes `[start, end)` of the request body. */
  copy(start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    const buf = this.buf;
    if (n <= 16) {
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = buf[i]!;
    } else buf.copyWithin(this.pos, start, end);
    this.pos += n;
  }

  /** `,"name":` and the field's value as the client sent it (whitespace between tokens dropped). */
  field(name: Uint8Array, fields: Int32Array, slot: number): void {
    this.bytes(name);
    if ((fields[slot + 2]! & SPACED) !== 0) this.copyCompact(fields[slot]!, fields[slot + 1]!);
    else this.copy(fields[slot]!, fields[slot + 1]!);
  }

  /** Copies a JSON value without the whitespace between its tokens (what JSON.stringify would write). */
  copyCompact(start: number, end: number): void {
    this.ensure(end - start);
    const buf = this.buf;
    const src = buf;
    let p = this.pos;
    let inString = false;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      if (inString) {
        if (c === 0x5c) {
          buf[p++] = c;
          buf[p++] = src[++i]!;
          continue;
        }
        if (c === 0x22) inString = false;
      } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      else if (c === 0x22) inString = true;
      buf[p++] = c;
    }
    this.pos = p;
  }
}

/** What every message of a scanned body shares, with the parts of the stored event that are the same for all. */
export interface ScannedEnvelope extends BatchEnvelope {
  /** `,"sentAt":"…"` of the batch (written when a message has no sentAt of its own); empty without one. */
  readonly sentAtJson: Uint8Array;
  /** `,"receivedAt":"…","receivedAtMs":…}`: every stored event ends with it. */
  readonly tail: Uint8Array;
}

const NOTHING: Uint8Array = new Uint8Array(0);
let tailMs = Number.NaN;
let tailBytes = NOTHING;

/** `,"receivedAt":…,"receivedAtMs":…}`, encoded once per millisecond (single events share it). */
function encodedTail(receivedAtMs: number, receivedAt: string): Uint8Array {
  if (receivedAtMs !== tailMs) {
    tailBytes = latin1(`,"receivedAt":${JSON.stringify(receivedAt)},"receivedAtMs":${JSON.stringify(receivedAtMs)}}`);
    tailMs = receivedAtMs;
  }
  return tailBytes;
}

/**
 * The envelope of a scanned body; undefined when the batch `sentAt` is not a valid ISO string (the
 * general path answers COLLECT_INVALID_BATCH).
 */
export function scannedEnvelope(body: ScannedBody, ctx: IngestContext): ScannedEnvelope | undefined {
  const { start, end, info } = body.sentAt;
  const kind = info & KIND_MASK;
  let sentAt: { sentAt: string; sentAtMs: number } | undefined;
  if (kind !== Kind.absent && kind !== Kind.null) {
    if (kind !== Kind.string) return undefined;
    const text = decodeString(body.bytes, start, end, info);
    const ms = parseIsoTimestamp(text);
    if (Number.isNaN(ms)) return undefined;
    sentAt = { sentAt: text, sentAtMs: ms };
  }
  const receivedAt = formatIsoTimestamp(ctx.receivedAtMs);
  return {
    receivedAtMs: ctx.receivedAtMs,
    receivedAt,
    ...sentAt,
    ...(ctx.impliedType !== undefined ? { impliedType: ctx.impliedType } : {}),
    checkForbiddenKeys: false,
    sentAtJson: sentAt !== undefined ? latin1(',"sentAt":' + JSON.stringify(sentAt.sentAt)) : NOTHING,
    tail: encodedTail(ctx.receivedAtMs, receivedAt),
  };
}

/**
 * Validates and writes message `index` of a scanned body; undefined when the general path must decide
 * (the message is invalid, or unusual in a way the fast path does not handle).
 */
export function checkScannedMessage(
  body: ScannedBody,
  index: number,
  env: ScannedEnvelope,
  options: ResolvedCollectorOptions,
  schemas: SchemaLookup | undefined,
  out: RecordWriter,
): ValidMessage<Uint8Array> | undefined {
  // Plain functions over (body, slot) rather than closures: this runs once per message.
  const f = body.fields;
  const b = body.view;
  const base = index * MESSAGE_SLOTS;

  // messageId: the client's, else generated (a non-string one is the general path's business).
  let messageId: string;
  const clientId = present(f, base + Field.messageId * SLOT);
  if (clientId) {
    const id = idAt(body, base + Field.messageId * SLOT, options.maxIdLength);
    if (id === false || id === undefined) return undefined;
    messageId = id;
  } else messageId = generateMessageId();

  let type: EventType;
  const typeSlot = base + Field.type * SLOT;
  const typeKind = f[typeSlot + 2]! & KIND_MASK;
  if (typeKind === Kind.absent || typeKind === Kind.null) {
    if (env.impliedType === undefined) return undefined;
    type = env.impliedType;
  } else {
    if (typeKind !== Kind.string) return undefined;
    const value = typeAt(b, f[typeSlot]!, f[typeSlot + 1]!);
    if (value === undefined) return undefined;
    type = value;
    if (env.impliedType !== undefined && type !== env.impliedType) return undefined;
  }

  const userSlot = base + Field.userId * SLOT;
  const anonymousSlot = base + Field.anonymousId * SLOT;
  const userId = idAt(body, userSlot, options.maxIdLength);
  const anonymousId = idAt(body, anonymousSlot, options.maxIdLength);
  if (userId === false || anonymousId === false) return undefined;
  let hasEvent = false;
  let event: string | undefined;
  let nameSlot = -1;
  let previousId: string | undefined;
  let groupSlot = -1;
  const eventSlot = base + Field.event * SLOT;
  const previousSlot = base + Field.previousId * SLOT;
  switch (type) {
    case 'track':
      // The name itself is only needed to look its schema up.
      if (!checkName(body, eventSlot, options.maxEventNameLength, true)) return undefined;
      if (schemas !== undefined) event = stringAt(body, eventSlot);
      hasEvent = true;
      break;
    case 'page':
    case 'screen': {
      const slot = base + Field.name * SLOT;
      if (!checkName(body, slot, options.maxEventNameLength, false)) return undefined;
      if (present(f, slot)) nameSlot = slot;
      break;
    }
    case 'alias': {
      const previous = idAt(body, previousSlot, options.maxIdLength);
      if (previous === false || previous === undefined || userId === undefined) return undefined;
      previousId = previous;
      break;
    }
    case 'group': {
      const slot = base + Field.groupId * SLOT;
      const groupId = idAt(body, slot, options.maxIdLength);
      if (groupId === false || groupId === undefined) return undefined;
      groupSlot = slot;
      break;
    }
    default:
      break;
  }
  if (userId === undefined && anonymousId === undefined) return undefined;

  const propertiesSlot = base + Field.properties * SLOT;
  const traitsSlot = base + Field.traits * SLOT;
  const contextSlot = base + Field.context * SLOT;
  const hasProperties = objectAt(f, propertiesSlot);
  const hasTraits = objectAt(f, traitsSlot);
  const hasContext = objectAt(f, contextSlot);
  if (hasProperties === undefined || hasTraits === undefined || hasContext === undefined) return undefined;

  // `originalTimestamp` is what some SDKs call the client's timestamp.
  const timestampKind = f[base + Field.timestamp * SLOT + 2]! & KIND_MASK;
  const timestampSlot =
    base +
    (timestampKind === Kind.absent || timestampKind === Kind.null ? Field.originalTimestamp : Field.timestamp) * SLOT;
  const sentAtSlot = base + Field.sentAt * SLOT;
  const timestampMs = timestampAt(body, timestampSlot);
  const ownSentAtMs = timestampAt(body, sentAtSlot);
  if (timestampMs === false || ownSentAtMs === false) return undefined;
  const sentAtMs = ownSentAtMs ?? env.sentAtMs;
  const eventTimeMs = computeEventTimeMs(timestampMs, sentAtMs, env.receivedAtMs);
  if (Number.isNaN(eventTimeMs)) return undefined;

  let propertiesJson: string | undefined;
  if (event !== undefined && schemas !== undefined) {
    const schema = schemas.lookup(event);
    if (schema !== undefined) {
      // Defaults declared in the schema are filled in (ajv useDefaults): validate and store that object.
      const properties: unknown = hasProperties
        ? JSON.parse(body.bytes.toString('utf8', f[propertiesSlot], f[propertiesSlot + 1]))
        : {};
      if (!schema.validate(properties)) return undefined;
      propertiesJson = JSON.stringify(properties);
    }
  }

  out.begin();
  out.bytes(MESSAGE_ID);
  if (clientId) out.copy(f[base]!, f[base + 1]!);
  else out.ascii(JSON.stringify(messageId));
  out.bytes(TYPE_JSON[type]);
  if (hasEvent) out.field(K_EVENT, f, eventSlot);
  if (nameSlot >= 0) out.field(K_NAME, f, nameSlot);
  if (userId !== undefined) out.field(K_USER_ID, f, userSlot);
  if (anonymousId !== undefined) out.field(K_ANONYMOUS_ID, f, anonymousSlot);
  if (previousId !== undefined) out.field(K_PREVIOUS_ID, f, previousSlot);
  if (groupSlot >= 0) out.field(K_GROUP_ID, f, groupSlot);
  if (propertiesJson !== undefined) {
    out.bytes(PROPERTIES);
    out.text(propertiesJson);
  } else if (hasProperties) out.field(K_PROPERTIES, f, propertiesSlot);
  if (hasTraits) out.field(K_TRAITS, f, traitsSlot);
  if (hasContext) out.field(K_CONTEXT, f, contextSlot);
  out.ascii(
    ',"timestamp":"' +
      (eventTimeMs === env.receivedAtMs ? env.receivedAt : formatIsoTimestamp(eventTimeMs)) +
      '","eventTimeMs":' +
      String(eventTimeMs),
  );
  if (timestampMs !== undefined && timestampMs !== eventTimeMs) out.field(K_ORIGINAL_TIMESTAMP, f, timestampSlot);
  if (ownSentAtMs !== undefined) out.field(K_SENT_AT, f, sentAtSlot);
  else if (env.sentAtJson.length > 0) out.bytes(env.sentAtJson);
  out.bytes(env.tail);
  const json = out.end();
  if (json.length > options.maxMessageBytes) return undefined;
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
}

/** Present and not "" (an empty string counts as absent, as in `checkMessage`). */
function present(f: Int32Array, slot: number): boolean {
  const kind = f[slot + 2]! & KIND_MASK;
  return kind !== Kind.absent && kind !== Kind.null && !(kind === Kind.string && f[slot + 1]! - f[slot]! === 2);
}

function stringAt(body: ScannedBody, slot: number): string {
  const f = body.fields;
  return decodeString(body.bytes, f[slot]!, f[slot + 1]!, f[slot + 2]!);
}

/** A string field no longer than `max` UTF-16 units: undefined when absent, false when the general path must decide. */
function boundedString(body: ScannedBody, slot: number, max: number): string | undefined | false {
  const f = body.fields;
  if (!present(f, slot)) return undefined;
  const info = f[slot + 2]!;
  if ((info & KIND_MASK) !== Kind.string) return false;
  // ASCII without escapes: the byte count is the length.
  if ((info & (ESCAPED | NON_ASCII)) === 0 && f[slot + 1]! - f[slot]! - 2 > max) return false;
  const value = stringAt(body, slot);
  return value.length > max ? false : value;
}

/** Ids: strings (numeric ids, which Segment coerces, are left to the general path). */
function idAt(body: ScannedBody, slot: number, maxIdLength: number): string | undefined | false {
  return boundedString(body, slot, maxIdLength);
}

/** `event` / `name`: a string of at most `max` UTF-16 units, or absent when not `required`. */
function checkName(body: ScannedBody, slot: number, max: number, required: boolean): boolean {
  const f = body.fields;
  if (!present(f, slot)) return !required;
  const info = f[slot + 2]!;
  if ((info & KIND_MASK) !== Kind.string) return false;
  if ((info & (ESCAPED | NON_ASCII)) === 0) return f[slot + 1]! - f[slot]! - 2 <= max;
  return stringAt(body, slot).length <= max;
}

/** Constant bytes as plain Uint8Arrays (one element kind for every copy). */
function latin1(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

/** Field names as written before a value copied from the request. */
const K_ANONYMOUS_ID = latin1(',"anonymousId":');
const K_CONTEXT = latin1(',"context":');
const K_EVENT = latin1(',"event":');
const K_GROUP_ID = latin1(',"groupId":');
const K_NAME = latin1(',"name":');
const K_ORIGINAL_TIMESTAMP = latin1(',"originalTimestamp":');
const K_PREVIOUS_ID = latin1(',"previousId":');
const K_PROPERTIES = latin1(',"properties":');
const K_SENT_AT = latin1(',"sentAt":');
const K_TRAITS = latin1(',"traits":');
const K_USER_ID = latin1(',"userId":');
const MESSAGE_ID = latin1('{"messageId":');
const PROPERTIES = latin1(',"properties":');

const TYPE_LIST: readonly EventType[] = ['track', 'page', 'screen', 'identify', 'alias', 'group'];
const TYPE_BYTES = TYPE_LIST.map((type) => latin1(JSON.stringify(type)));
const TYPE_JSON = Object.fromEntries(
  TYPE_LIST.map((type) => [type, latin1(`,"type":${JSON.stringify(type)}`)]),
) as Record<EventType, Uint8Array>;

/** The event type a `type` string names (its JSON text is `b[start, end)`), or undefined. */
function typeAt(b: Uint8Array, start: number, end: number): EventType | undefined {
  const length = end - start;
  for (let t = 0; t < TYPE_BYTES.length; t++) {
    const bytes = TYPE_BYTES[t]!;
    if (bytes.length !== length) continue;
    let i = 1;
    while (i < length && b[start + i] === bytes[i]) i++;
    if (i === length) return TYPE_LIST[t];
  }
  // Escaped spellings ("tr\u0061ck" never gets here; "\"track\"" is no type) need no decoding.
  return undefined;
}

/** true: an object; false: absent or null; undefined: anything else (the general path rejects it). */
function objectAt(f: Int32Array, slot: number): boolean | undefined {
  const kind = f[slot + 2]! & KIND_MASK;
  if (kind === Kind.absent || kind === Kind.null) return false;
  return kind === Kind.object ? true : undefined;
}

/** Epoch ms of an ISO-8601 string field; undefined when absent, false when not a valid one. */
function timestampAt(body: ScannedBody, slot: number): number | undefined | false {
  const kind = body.fields[slot + 2]! & KIND_MASK;
  if (kind === Kind.absent || kind === Kind.null) return undefined;
  if (kind !== Kind.string) return false;
  const f = body.fields;
  let ms = -1;
  // Date#toISOString's form (what nearly every SDK sends), read from the bytes.
  if (f[slot + 1]! - f[slot]! === 26 && (f[slot + 2]! & (ESCAPED | NON_ASCII)) === 0) {
    ms = parseCanonicalBytes(body.bytes, f[slot]! + 1);
  }
  if (ms === -1) ms = parseIsoTimestamp(stringAt(body, slot));
  return Number.isNaN(ms) ? false : ms;
}
