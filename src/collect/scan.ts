import { isUtf8 } from 'node:buffer';

/*
 * The collector's fast path reads a request body straight from its bytes instead of `JSON.parse` +
 * `JSON.stringify`: one pass checks the JSON grammar and the nesting depth and records where each
 * message's fields are, and the stored event is then written by copying the client's bytes of
 * `properties`, `traits`, `context` and the ids (raw-message.ts).
 *
 * Copied bytes must be exactly what `JSON.stringify(JSON.parse(bytes))` would write, so the scanner only
 * says yes to bodies where that holds (in the fields that are copied): no escape but \" \\ \b \f \n \r \t,
 * numbers already in their shortest form, no duplicate keys, no integer-like keys (V8 would move them to
 * the front), valid UTF-8. Anything else — and anything invalid — makes it answer `undefined`, and the
 * general path (parse, `checkMessage`) handles the body exactly as before: the fast path never decides
 * an error, it only takes the bodies it is sure of.
 */

/** The top-level fields of a message the collector reads (everything else is dropped). */
export const Field = {
  messageId: 0,
  type: 1,
  event: 2,
  name: 3,
  userId: 4,
  anonymousId: 5,
  previousId: 6,
  groupId: 7,
  properties: 8,
  traits: 9,
  context: 10,
  timestamp: 11,
  originalTimestamp: 12,
  sentAt: 13,
  /** Only meaningful for single-message routes, where the body is the message. */
  writeKey: 14,
} as const;
export type Field = (typeof Field)[keyof typeof Field];
const FIELD_NAMES: readonly string[] = Object.keys(Field);
const FIELD_COUNT = FIELD_NAMES.length;
/** Ints per field per message: start, end (byte offsets into the body, the value's own bytes), info. */
const SLOT = 3;
export const MESSAGE_SLOTS = FIELD_COUNT * SLOT;

/** `info & KIND_MASK`: what the value is (0 = the field is absent). */
export const Kind = { absent: 0, string: 1, null: 2, object: 3, array: 4, number: 5, boolean: 6 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];
export const KIND_MASK = 0xf;
/** A string with escapes (decode with JSON.parse). */
export const ESCAPED = 0x10;
/** A string with non-ASCII characters (decode as UTF-8; UTF-16 length ≠ byte length). */
export const NON_ASCII = 0x20;
/** A container with whitespace between its tokens (copied without it). */
export const SPACED = 0x40;

/**
 * Known field names by a perfect hash of (length, first byte, last byte) into 32 slots (checked at load):
 * one table read, then one comparison.
 */
const FIELD_BYTES = FIELD_NAMES.map((name) => new Uint8Array(Buffer.from(name, 'latin1')));
const fieldShape = (length: number, first: number, last: number) => (length * 5 + first + last * 9) & 31;
/** Field + 1 per shape, 0 for none. */
const FIELD_BY_SHAPE = new Int8Array(32);
FIELD_BYTES.forEach((bytes, field) => {
  const shape = fieldShape(bytes.length, bytes[0]!, bytes[bytes.length - 1]!);
  if (FIELD_BY_SHAPE[shape] !== 0) throw new Error(`field names ${FIELD_NAMES[field]} and another share a shape`);
  FIELD_BY_SHAPE[shape] = field + 1;
});
const ENVELOPE = { batch: 0, sentAt: 1, context: 2, writeKey: 3 } as const;
const ENVELOPE_NAMES = Object.keys(ENVELOPE).map((name) => Buffer.from(name, 'latin1'));

const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'].map((key) => Buffer.from(key, 'latin1'));

/** A request body the scanner accepted: its bytes and where each message's fields are. */
export interface ScannedBody {
  /** The body (without a BOM): spans index into it. */
  readonly bytes: Buffer;
  /** `bytes` as a plain Uint8Array (cheaper `subarray`). */
  readonly view: Uint8Array;
  readonly messages: number;
  /** `messages × MESSAGE_SLOTS` ints: per message and field `start, end, info`. */
  readonly fields: Int32Array;
  /** Batch-level `sentAt` (its value's span; kind absent when missing), batch route only. */
  readonly sentAt: { readonly start: number; readonly end: number; readonly info: number };
  /** The body's `writeKey` when it is a string; undefined when absent. */
  readonly writeKey: string | undefined;
}

export interface ScanOptions {
  /** True for single-message routes (the body is the message), false for `/v1/batch`. */
  readonly single: boolean;
  readonly maxDepth: number;
  readonly maxBatchMessages: number;
}

// Bytes the scanner looks at.
const C_TAB = 0x09;
const C_LF = 0x0a;
const C_CR = 0x0d;
const C_SPACE = 0x20;
const C_QUOTE = 0x22;
const C_COMMA = 0x2c;
const C_MINUS = 0x2d;
const C_DOT = 0x2e;
const C_ZERO = 0x30;
const C_NINE = 0x39;
const C_COLON = 0x3a;
const C_OPEN_BRACKET = 0x5b;
const C_BACKSLASH = 0x5c;
const C_CLOSE_BRACKET = 0x5d;
const C_OPEN_BRACE = 0x7b;
const C_CLOSE_BRACE = 0x7d;

/** 0 for bytes that need no attention inside a string: printable ASCII but `"` and `\`. */
const STRING_CLASS = new Uint8Array(256).fill(1);
for (let c = 0x20; c < 0x80; c++) if (c !== C_QUOTE && c !== C_BACKSLASH) STRING_CLASS[c] = 0;

let sharedKeys = new Int32Array(256);

/** Thrown (and caught in `scanRequestBody`) when the body is not one the fast path takes. */
const BAIL = new Error('fast path declined');

class Scanner {
  pos = 0;
  /** Whitespace bytes skipped so far (a span that added none has none). */
  ws = 0;
  /** Flags of the last string scanned. */
  stringInfo = 0;
  /**
   * True while scanning a field whose bytes are copied into the stored event: then numbers must be in
   * their shortest form, `\/` is refused, and object keys must be unique and not integer-like.
   */
  strict = true;
  /** Keys of the objects being scanned (shared: scanning is synchronous and never re-entered). */
  private keys = sharedKeys;
  private keyTop = 0;
  fields: Int32Array;
  count = 0;

  /** The body as 32-bit words, for skipping string contents four bytes at a time. */
  private readonly words: DataView;
  private readonly lastWord: number;

  constructor(
    readonly b: Uint8Array,
    readonly maxDepth: number,
    expectedMessages: number,
  ) {
    this.words = new DataView(b.buffer, b.byteOffset, b.length);
    this.lastWord = b.length - 4;
    this.fields = new Int32Array(MESSAGE_SLOTS * expectedMessages);
  }

  skipWs(): void {
    const b = this.b;
    let p = this.pos;
    // Nearly always: no whitespace at all (JSON.stringify output).
    if (b[p]! > C_SPACE) return;
    for (;;) {
      const c = b[p];
      if (c === C_SPACE || c === C_LF || c === C_CR || c === C_TAB) p++;
      else break;
    }
    if (p !== this.pos) {
      this.ws += p - this.pos;
      this.pos = p;
    }
  }

  expect(c: number): void {
    if (this.b[this.pos] !== c) throw BAIL;
    this.pos++;
  }

  /** At a `"`: moves past the closing quote, sets `stringInfo`. */
  string(): void {
    const b = this.b;
    let p = this.pos + 1;
    let info: number = Kind.string;
    const words = this.words;
    const lastWord = this.lastWord;
    for (;;) {
      // Four bytes at a time while none needs attention (", \\, a control or a non-ASCII byte): SWAR
      // "has a byte equal to / less than" tests on one little-endian 32-bit load.
      while (p <= lastWord) {
        const x = words.getInt32(p, true);
        const quote = x ^ 0x22222222;
        const backslash = x ^ 0x5c5c5c5c;
        const special =
          ((x - 0x20202020) & ~x) | ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash) | x;
        if ((special & 0x80808080) !== 0) break;
        p += 4;
      }
      // Then one table lookup per byte up to the byte that needs attention.
      let c = b[p]!;
      while (STRING_CLASS[c] === 0) c = b[++p]!;
      if (c === C_QUOTE) break;
      if (c === C_BACKSLASH) {
        const d = b[p + 1];
        // \" \\ \b \f \n \r \t are what JSON.stringify writes; \/ is valid JSON but rewritten as "/".
        if (d === 0x22 || d === 0x5c || d === 0x62 || d === 0x66 || d === 0x6e || d === 0x72 || d === 0x74) {
          info |= ESCAPED;
          p += 2;
          continue;
        }
        if (d === 0x2f && !this.strict) {
          info |= ESCAPED;
          p += 2;
          continue;
        }
        throw BAIL;
      }
      // Past the end (undefined) or a control character: not JSON.
      if (!(c >= 0x80)) throw BAIL;
      info |= NON_ASCII;
      p++;
    }
    this.pos = p + 1;
    this.stringInfo = info;
  }

  number(): void {
    const b = this.b;
    const start = this.pos;
    let p = start;
    const negative = b[p] === C_MINUS;
    if (negative) p++;
    const intStart = p;
    let c = b[p];
    if (c === C_ZERO) p++;
    else if (c !== undefined && c > C_ZERO && c <= C_NINE) {
      do c = b[++p];
      while (c !== undefined && c >= C_ZERO && c <= C_NINE);
    } else throw BAIL;
    const intDigits = p - intStart;
    let fracDigits = 0;
    let canonical = true;
    if (b[p] === C_DOT) {
      const fracStart = ++p;
      c = b[p];
      while (c !== undefined && c >= C_ZERO && c <= C_NINE) c = b[++p];
      fracDigits = p - fracStart;
      if (fracDigits === 0) throw BAIL;
      if (b[p - 1] === C_ZERO) canonical = false;
      else if (intDigits === 1 && b[intStart] === C_ZERO) {
        // 0.000000x prints as 1e-7: leading zeros of the fraction are not significant digits.
        let zeros = 0;
        while (b[fracStart + zeros] === C_ZERO) zeros++;
        canonical = zeros < 6 && fracDigits - zeros <= 15;
      } else canonical = intDigits + fracDigits <= 15;
    } else {
      // Integers of up to 15 digits are exact and print as written; "-0" prints as "0".
      canonical = intDigits <= 15 && !(negative && b[intStart] === C_ZERO);
    }
    c = b[p];
    if (c === 0x65 || c === 0x45) {
      canonical = false;
      c = b[++p];
      if (c === 0x2b || c === C_MINUS) c = b[++p];
      const expStart = p;
      while (c !== undefined && c >= C_ZERO && c <= C_NINE) c = b[++p];
      if (p === expStart) throw BAIL;
    }
    this.pos = p;
    if (!canonical && this.strict) {
      const text = String.fromCharCode(...b.subarray(start, p));
      if (String(Number(text)) !== text) throw BAIL;
    }
  }

  literal(word: string): void {
    const b = this.b;
    const p = this.pos;
    for (let i = 0; i < word.length; i++) if (b[p + i] !== word.charCodeAt(i)) throw BAIL;
    this.pos = p + word.length;
  }

  /** Scans any value at `pos` (no leading whitespace); a container at `level` (the message is level 1). */
  value(level: number): Kind {
    const c = this.b[this.pos];
    switch (c) {
      case C_QUOTE:
        this.string();
        return Kind.string;
      case C_OPEN_BRACE:
        this.object(level);
        return Kind.object;
      case C_OPEN_BRACKET:
        this.array(level);
        return Kind.array;
      case 0x74:
        this.literal('true');
        return Kind.boolean;
      case 0x66:
        this.literal('false');
        return Kind.boolean;
      case 0x6e:
        this.literal('null');
        return Kind.null;
      default:
        this.number();
        return Kind.number;
    }
  }

  object(level: number): void {
    if (level > this.maxDepth) throw BAIL;
    this.pos++;
    if (this.b[this.pos]! <= C_SPACE) this.skipWs();
    if (this.b[this.pos] === C_CLOSE_BRACE) {
      this.pos++;
      return;
    }
    const base = this.keyTop;
    // One bit per key (from its length and last byte): keys are only compared when their bits collide.
    let seen = 0;
    for (;;) {
      if (this.b[this.pos] !== C_QUOTE) throw BAIL;
      const keyStart = this.pos;
      this.string();
      const keyEnd = this.pos;
      this.checkKey(keyStart, keyEnd);
      if (this.strict) {
        const bit = 1 << ((keyEnd - keyStart + this.b[keyEnd - 2]!) & 31);
        this.addKey(base, keyStart, keyEnd, (seen & bit) !== 0);
        seen |= bit;
      }
      if (this.b[this.pos]! <= C_SPACE) this.skipWs();
      this.expect(C_COLON);
      if (this.b[this.pos]! <= C_SPACE) this.skipWs();
      this.value(level + 1);
      if (this.b[this.pos]! <= C_SPACE) this.skipWs();
      const c = this.b[this.pos++];
      if (c === C_COMMA) {
        if (this.b[this.pos]! <= C_SPACE) this.skipWs();
        continue;
      }
      if (c === C_CLOSE_BRACE) break;
      throw BAIL;
    }
    this.keyTop = base;
  }

  /**
   * Keys that could reach a prototype (`__proto__`, `constructor`, `prototype`) go the general way, which
   * rejects them (a `\u` escape, which could spell one, never gets here).
   */
  private checkKey(start: number, end: number): void {
    const length = end - start - 2;
    if (length !== 9 && length !== 11) return;
    const b = this.b;
    const first = b[start + 1];
    if (first !== 0x5f && first !== 0x63 && first !== 0x70) return;
    for (const word of FORBIDDEN_KEYS) {
      if (word.length !== length) continue;
      let i = 0;
      while (i < length && b[start + 1 + i] === word[i]) i++;
      if (i === length) throw BAIL;
    }
  }

  /** Refuses keys JSON.parse + JSON.stringify would not write back as they are: repeated or integer-like. */
  private addKey(base: number, start: number, end: number, mayRepeat: boolean): void {
    const b = this.b;
    const first = b[start + 1]!;
    if (first >= C_ZERO && first <= C_NINE) throw BAIL;
    const keys = this.keys;
    const length = end - start;
    if (mayRepeat)
      for (let k = base; k < this.keyTop; k += 2) {
        const s = keys[k]!;
        if (keys[k + 1]! - s !== length) continue;
        let i = 1;
        while (i < length - 1 && b[s + i] === b[start + i]) i++;
        if (i === length - 1) throw BAIL;
      }
    if (this.keyTop + 2 > keys.length) {
      const grown = new Int32Array(keys.length * 2);
      grown.set(keys);
      this.keys = sharedKeys = grown;
    }
    this.keys[this.keyTop++] = start;
    this.keys[this.keyTop++] = end;
  }

  array(level: number): void {
    if (level > this.maxDepth) throw BAIL;
    this.pos++;
    if (this.b[this.pos]! <= C_SPACE) this.skipWs();
    if (this.b[this.pos] === C_CLOSE_BRACKET) {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(level + 1);
      if (this.b[this.pos]! <= C_SPACE) this.skipWs();
      const c = this.b[this.pos++];
      if (c === C_COMMA) {
        if (this.b[this.pos]! <= C_SPACE) this.skipWs();
        continue;
      }
      if (c === C_CLOSE_BRACKET) break;
      throw BAIL;
    }
  }

  /** Which known field a key (its span, quotes included) names, or -1. */
  /** Which known field a key (its span, quotes included) names, or -1. */
  fieldOf(start: number, end: number): number {
    if ((this.stringInfo & ESCAPED) !== 0) return -1;
    const b = this.b;
    const length = end - start - 2;
    const field = FIELD_BY_SHAPE[(length * 5 + b[start + 1]! + b[end - 2]! * 9) & 31]! - 1;
    if (field < 0) return -1;
    const bytes = FIELD_BYTES[field]!;
    if (bytes.length !== length) return -1;
    for (let i = 0; i < length; i++) if (b[start + 1 + i] !== bytes[i]) return -1;
    return field;
  }

  /** Scans one message object (level 1) and records its known fields in the next slot. */
  message(): void {
    if (this.b[this.pos] !== C_OPEN_BRACE) throw BAIL;
    if ((this.count + 1) * MESSAGE_SLOTS > this.fields.length) {
      const grown = new Int32Array(this.fields.length * 2);
      grown.set(this.fields);
      this.fields = grown;
    }
    const slots = this.fields;
    const base = this.count * MESSAGE_SLOTS;
    slots.fill(0, base, base + MESSAGE_SLOTS);
    this.pos++;
    if (this.b[this.pos]! <= C_SPACE) this.skipWs();
    if (this.b[this.pos] === C_CLOSE_BRACE) {
      this.pos++;
      this.count++;
      return;
    }
    for (;;) {
      if (this.b[this.pos] !== C_QUOTE) throw BAIL;
      const keyStart = this.pos;
      this.strict = false;
      this.string();
      this.checkKey(keyStart, this.pos);
      const field = this.fieldOf(keyStart, this.pos);
      if (this.b[this.pos]! <= C_SPACE) this.skipWs();
      this.expect(C_COLON);
      if (this.b[this.pos]! <= C_SPACE) this.skipWs();
      const start = this.pos;
      // Unknown fields are dropped: only their grammar and depth matter.
      this.strict = field >= 0;
      const ws = this.ws;
      const kind = this.value(2);
      if (field >= 0) {
        const slot = base + field * SLOT;
        // A repeated field: JSON.parse keeps the last one; leave that to the general path.
        if (slots[slot + 2] !== 0) throw BAIL;
        slots[slot] = start;
        slots[slot + 1] = this.pos;
        slots[slot + 2] = kind | (kind === Kind.string ? this.stringInfo : 0) | (this.ws !== ws ? SPACED : 0);
      }
      if (this.b[this.pos]! <= C_SPACE) this.skipWs();
      const c = this.b[this.pos++];
      if (c === C_COMMA) {
        if (this.b[this.pos]! <= C_SPACE) this.skipWs();
        continue;
      }
      if (c === C_CLOSE_BRACE) break;
      throw BAIL;
    }
    this.count++;
  }
}

/** The string whose JSON text (quotes included) is `b[start, end)`. */
export function decodeString(b: Buffer, start: number, end: number, info: number): string {
  if ((info & ESCAPED) !== 0) return JSON.parse(b.toString('utf8', start, end)) as string;
  return (info & NON_ASCII) !== 0 ? b.toString('utf8', start + 1, end - 1) : b.toString('latin1', start + 1, end - 1);
}

/**
 * Reads a request body for the fast path, or answers undefined (the caller then parses it as usual).
 * `raw` is the decoded body as received (an optional UTF-8 BOM is skipped, as `parseJsonBody` does).
 */
export function scanRequestBody(raw: Buffer, options: ScanOptions): ScannedBody | undefined {
  const start = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  const bytes = start === 0 ? raw : raw.subarray(start);
  // Text that is not valid UTF-8 goes the general way (JSON.parse sees replacement characters).
  if (!isUtf8(bytes)) return undefined;
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  // Realistic events are 300 B to 1 KB: start with room for one per 400 bytes (the table grows if needed).
  const s = new Scanner(
    view,
    options.maxDepth,
    options.single ? 1 : Math.min(options.maxBatchMessages, (bytes.length >> 9) + 4),
  );
  try {
    s.skipWs();
    let sentAt = { start: 0, end: 0, info: 0 };
    let writeKey: { start: number; end: number; info: number } | undefined;
    if (options.single) {
      s.message();
      const slot = Field.writeKey * SLOT;
      if (s.fields[slot + 2] !== 0)
        writeKey = { start: s.fields[slot]!, end: s.fields[slot + 1]!, info: s.fields[slot + 2]! };
    } else {
      if (bytes[s.pos] !== C_OPEN_BRACE) return undefined;
      s.pos++;
      s.skipWs();
      const seen = [false, false, false, false];
      if (bytes[s.pos] !== C_CLOSE_BRACE) {
        for (;;) {
          if (bytes[s.pos] !== C_QUOTE) return undefined;
          const keyStart = s.pos;
          s.strict = false;
          s.string();
          const keyEnd = s.pos;
          let key = -1;
          if ((s.stringInfo & ESCAPED) === 0) {
            key = ENVELOPE_NAMES.findIndex(
              (name) =>
                name.length === keyEnd - keyStart - 2 &&
                bytes.compare(name, 0, name.length, keyStart + 1, keyEnd - 1) === 0,
            );
          }
          s.skipWs();
          s.expect(C_COLON);
          s.skipWs();
          if (key >= 0) {
            if (seen[key]) return undefined;
            seen[key] = true;
          }
          const valueStart = s.pos;
          if (key === ENVELOPE.batch) {
            if (bytes[s.pos] !== C_OPEN_BRACKET) return undefined;
            s.pos++;
            s.skipWs();
            if (bytes[s.pos] === C_CLOSE_BRACKET) return undefined;
            for (;;) {
              s.message();
              if (s.count > options.maxBatchMessages) return undefined;
              s.skipWs();
              const c = bytes[s.pos++];
              if (c === C_COMMA) {
                s.skipWs();
                continue;
              }
              if (c === C_CLOSE_BRACKET) break;
              return undefined;
            }
          } else {
            s.strict = false;
            const kind = s.value(1);
            // A batch context is merged into every message: the general path does that.
            if (key === ENVELOPE.context && kind !== Kind.null) return undefined;
            const info = kind | (kind === Kind.string ? s.stringInfo : 0);
            if (key === ENVELOPE.sentAt) sentAt = { start: valueStart, end: s.pos, info };
            if (key === ENVELOPE.writeKey) writeKey = { start: valueStart, end: s.pos, info };
          }
          s.skipWs();
          const c = bytes[s.pos++];
          if (c === C_COMMA) {
            s.skipWs();
            continue;
          }
          if (c === C_CLOSE_BRACE) break;
          return undefined;
        }
      }
      if (!seen[ENVELOPE.batch]) return undefined;
    }
    s.skipWs();
    if (s.pos !== bytes.length) return undefined;
    let key: string | undefined;
    if (writeKey !== undefined) {
      // null, numbers, …: the general path answers with the right error.
      if ((writeKey.info & KIND_MASK) !== Kind.string) return undefined;
      key = decodeString(bytes, writeKey.start, writeKey.end, writeKey.info);
    }
    return {
      bytes,
      view,
      messages: s.count,
      fields: s.fields,
      sentAt,
      writeKey: key,
    };
  } catch (error) {
    if (error === BAIL) return undefined;
    throw error;
  }
}
