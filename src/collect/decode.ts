import { inflate, inflateRaw, gunzip, type InputType, type ZlibOptions } from 'node:zlib';
import { CollectErrors } from './errors.js';

/** Content encodings the collector accepts (Segment-spec SDKs send gzip; a few send deflate). */
export type ContentEncoding = 'identity' | 'gzip' | 'deflate';

/** Maps a `Content-Encoding` header to an encoding; anything else is COLLECT_UNSUPPORTED_ENCODING (415). */
export function parseContentEncoding(header: string | undefined): ContentEncoding {
  if (header === undefined) return 'identity';
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  throw CollectErrors.create('COLLECT_UNSUPPORTED_ENCODING', `Unsupported Content-Encoding: ${value.slice(0, 40)}`, {
    details: { contentEncoding: value.slice(0, 40), supported: ['gzip', 'deflate', 'identity'] },
  });
}

type Inflate = (buf: InputType, options: ZlibOptions, callback: (error: Error | null, result: Buffer) => void) => void;

function run(fn: Inflate, raw: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxOutputLength makes zlib stop inflating at the limit: a gzip bomb costs at most maxBytes of work.
    fn(raw, { maxOutputLength: maxBytes }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

function tooLarge(maxBytes: number) {
  return CollectErrors.create('COLLECT_PAYLOAD_TOO_LARGE', `The decompressed body exceeds ${maxBytes} bytes`, {
    details: { maxBytes, measured: 'decompressed' },
  });
}

/**
 * Decompresses a request body, refusing (413) as soon as the output would exceed `maxBytes`, without
 * inflating further. Malformed data is COLLECT_INVALID_COMPRESSION (400).
 */
export async function decompressBody(raw: Buffer, encoding: ContentEncoding, maxBytes: number): Promise<Buffer> {
  if (encoding === 'identity') {
    if (raw.length > maxBytes) throw tooLarge(maxBytes);
    return raw;
  }
  try {
    if (encoding === 'gzip') return await run(gunzip, raw, maxBytes);
    try {
      return await run(inflate, raw, maxBytes);
    } catch (error) {
      // HTTP "deflate" means zlib-wrapped, but some clients send a raw deflate stream.
      if ((error as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') throw error;
      return await run(inflateRaw, raw, maxBytes);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
    throw CollectErrors.create('COLLECT_INVALID_COMPRESSION', `The body is not valid ${encoding} data`, {
      cause: error,
      details: { contentEncoding: encoding },
    });
  }
}

/** Parses a JSON body (UTF-8, an optional BOM). Bad or truncated JSON is COLLECT_INVALID_JSON (400). */
export function parseJsonBody(body: Buffer): { value: unknown; text: string } {
  const start = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  const text = body.toString('utf8', start);
  if (text.length === 0) throw CollectErrors.create('COLLECT_INVALID_JSON', 'The request body is empty');
  try {
    return { value: JSON.parse(text) as unknown, text };
  } catch (error) {
    // V8's message names the offending position, which is what a client developer needs.
    const reason = error instanceof Error ? error.message : 'parse error';
    throw CollectErrors.create('COLLECT_INVALID_JSON', `The request body is not valid JSON: ${reason.slice(0, 200)}`);
  }
}

/**
 * Cheap pre-check for the forbidden-key scan: one regex pass over the raw text instead of a deep walk of
 * every message. False means no key of any message can be `__proto__`, `constructor` or `prototype`.
 */
export function mayContainForbiddenKeys(text: string): boolean {
  // 'proto' covers __proto__ and prototype; a \u escape could spell any of them. (Three substring
  // searches are cheaper than one alternation regex over a 500 KiB body.)
  return text.includes('proto') || text.includes('constructor') || text.includes('\\u');
}
