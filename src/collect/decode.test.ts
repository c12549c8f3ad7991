import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isKairosError } from '../core/index.js';
import { decompressBody, mayContainForbiddenKeys, parseContentEncoding, parseJsonBody } from './decode.js';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isKairosError(error) ? error.code : `not a KairosError: ${String(error)}`;
  }
}

function syncCodeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return isKairosError(error) ? error.code : `not a KairosError: ${String(error)}`;
  }
}

describe('parseContentEncoding', () => {
  it('accepts none, identity, gzip, x-gzip and deflate (any case, padded)', () => {
    expect(parseContentEncoding(undefined)).toBe('identity');
    expect(parseContentEncoding('')).toBe('identity');
    expect(parseContentEncoding('identity')).toBe('identity');
    expect(parseContentEncoding(' GZIP ')).toBe('gzip');
    expect(parseContentEncoding('x-gzip')).toBe('gzip');
    expect(parseContentEncoding('Deflate')).toBe('deflate');
  });

  it('refuses other encodings with COLLECT_UNSUPPORTED_ENCODING (415)', () => {
    for (const value of ['br', 'zstd', 'compress', 'gzip, br']) {
      expect(syncCodeOf(() => parseContentEncoding(value))).toBe('COLLECT_UNSUPPORTED_ENCODING');
    }
  });
});

describe('decompressBody', () => {
  const json = Buffer.from(JSON.stringify({ batch: [{ type: 'track', event: 'x', userId: 'u' }] }));

  it('inflates gzip, zlib deflate and raw deflate to the same bytes', async () => {
    expect(await decompressBody(gzipSync(json), 'gzip', 1000)).toEqual(json);
    expect(await decompressBody(deflateSync(json), 'deflate', 1000)).toEqual(json);
    expect(await decompressBody(deflateRawSync(json), 'deflate', 1000)).toEqual(json);
    expect(await decompressBody(json, 'identity', 1000)).toBe(json);
  });

  it('counts the limit on the decompressed size and stops a gzip bomb at the limit', async () => {
    const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(200 * 1024);
    expect(await codeOf(decompressBody(bomb, 'gzip', 512_000))).toBe('COLLECT_PAYLOAD_TOO_LARGE');
    expect(await codeOf(decompressBody(deflateSync(Buffer.alloc(600_000)), 'deflate', 512_000))).toBe(
      'COLLECT_PAYLOAD_TOO_LARGE',
    );
    expect(await codeOf(decompressBody(Buffer.alloc(600_000), 'identity', 512_000))).toBe('COLLECT_PAYLOAD_TOO_LARGE');
    // Exactly at the limit is fine.
    expect((await decompressBody(gzipSync(Buffer.alloc(1000)), 'gzip', 1000)).length).toBe(1000);
  });

  it('refuses data that is not what Content-Encoding says with COLLECT_INVALID_COMPRESSION', async () => {
    expect(await codeOf(decompressBody(json, 'gzip', 1000))).toBe('COLLECT_INVALID_COMPRESSION');
    expect(await codeOf(decompressBody(json, 'deflate', 1000))).toBe('COLLECT_INVALID_COMPRESSION');
    expect(await codeOf(decompressBody(gzipSync(json).subarray(0, 20), 'gzip', 1000))).toBe(
      'COLLECT_INVALID_COMPRESSION',
    );
  });
});

describe('parseJsonBody', () => {
  it('parses UTF-8 JSON, with or without a byte-order mark', () => {
    expect(parseJsonBody(Buffer.from('{"a":"é"}')).value).toEqual({ a: 'é' });
    expect(parseJsonBody(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[1]')])).value).toEqual([1]);
  });

  it('refuses empty, truncated and malformed bodies with COLLECT_INVALID_JSON', () => {
    for (const text of ['', '{', '{"batch":[', '{"a":1,}', "{'a':1}", 'undefined', '{"a":1}}', 'NaN']) {
      expect(syncCodeOf(() => parseJsonBody(Buffer.from(text)))).toBe('COLLECT_INVALID_JSON');
    }
  });
});

describe('mayContainForbiddenKeys', () => {
  it('is false only when no key can spell a forbidden name', () => {
    expect(mayContainForbiddenKeys('{"type":"track","properties":{"a":1}}')).toBe(false);
    expect(mayContainForbiddenKeys('{"__proto__":{}}')).toBe(true);
    expect(mayContainForbiddenKeys('{"a":{"constructor":1}}')).toBe(true);
    expect(mayContainForbiddenKeys('{"prototype":1}')).toBe(true);
    // An escape could spell one: "\u005f_proto__" is "__proto__" once parsed.
    expect(mayContainForbiddenKeys('{"\\u005f_proto__":1}')).toBe(true);
  });
});
