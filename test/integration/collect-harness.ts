import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createCollector, type Collector, type CollectorOptions } from '../../src/collect/index.js';
import { decodePayload, silentLogger, systemClock, type Clock, type LogPayload } from '../../src/core/index.js';
import { createEmbeddedEventLog, type EmbeddedEventLogOptions, type EventLog } from '../../src/log/index.js';
import {
  collectRoutes,
  createHttpServer,
  deadLetterRoutes,
  schemaRoutes,
  type KeyRing,
} from '../../src/serve/index.js';
import { createLmdbMetadataStore, type MetadataStore } from '../../src/store/index.js';

export const WRITE_KEYS = ['WK_segment_test', 'WK_browser_test', 'WK_test'];
export const SECRET_KEY = 'SK_test_secret';
export const KEYS: KeyRing = { writeKeys: WRITE_KEYS, secretKeys: [SECRET_KEY] };

export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

export interface CollectServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly collector: Collector;
  readonly log: EventLog;
  readonly metadata: MetadataStore;
  readonly dir: string;
  /** Every record of every partition, decoded, in partition/offset order. */
  readAll(): Promise<{ partition: number; offset: number; key: string; payload: LogPayload }[]>;
  /** Stops the server and the collector; closes log and metadata unless `keepStores`. */
  stop(keepStores?: boolean): Promise<void>;
}

export interface StartOptions {
  /** Reuse a data directory (restart tests). */
  readonly dir?: string;
  readonly collector?: CollectorOptions;
  readonly logOptions?: Partial<EmbeddedEventLogOptions>;
  /** Use this log instead of an embedded one in `dir/log`. */
  readonly log?: EventLog;
  readonly metadata?: MetadataStore;
  readonly clock?: Clock;
}

export function tempDir(prefix = 'kairos-collect-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The collector + embedded log + lmdb metadata + Fastify, in process, on 127.0.0.1 with an ephemeral port. */
export async function startCollectServer(options: StartOptions = {}): Promise<CollectServer> {
  const dir = options.dir ?? tempDir();
  const clock = options.clock ?? systemClock;
  const log =
    options.log ?? (await createEmbeddedEventLog({ dir: join(dir, 'log'), partitionCount: 4, ...options.logOptions }));
  const metadata = options.metadata ?? createLmdbMetadataStore({ dir: join(dir, 'metadata') });
  const collector = createCollector({
    log,
    metadata,
    clock,
    logger: silentLogger(),
    options: { schemaRefreshMs: 0, ...options.collector },
  });
  await collector.start();
  const app = await createHttpServer({
    keys: KEYS,
    logger: silentLogger(),
    metrics: new Registry(),
    docs: false,
    routes: [collectRoutes({ collector, clock }), schemaRoutes({ collector }), deadLetterRoutes({ collector })],
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    app,
    collector,
    log,
    metadata,
    dir,
    async readAll() {
      const out: { partition: number; offset: number; key: string; payload: LogPayload }[] = [];
      for (let p = 0; p < log.partitionCount; p++) {
        const { start, end } = await log.offsets(p);
        const reader = await log.openReader(p, start);
        while (reader.position < end) {
          const records = await reader.read({ maxRecords: 1000, waitMs: 0 });
          if (records.length === 0) break;
          for (const r of records)
            out.push({ partition: r.partition, offset: r.offset, key: r.key, payload: decodePayload(r.value) });
        }
        await reader.close();
      }
      return out;
    },
    async stop(keepStores = false) {
      await app.close();
      await collector.close();
      if (!keepStores) {
        await log.close();
        await metadata.close();
      }
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The parsed JSON body (undefined when not JSON); tests check its shape with expect(). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

/**
 * One HTTP request with exactly the given headers (no Content-Type added, unlike fetch), on a fresh
 * connection. Content-Length is set from the body unless given.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<RawResponse> {
  const url = new URL(path, baseUrl);
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  const allHeaders: Record<string, string> = { connection: 'close', ...headers };
  if (payload && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
    allHeaders['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: allHeaders },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    // The server may answer (413, 401) before reading everything and close: that is an answer, not an error.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (payload) req.end(payload);
    else req.end();
  });
}

export function postJson(
  baseUrl: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return rawRequest(baseUrl, 'POST', path, { 'content-type': 'application/json', ...headers }, JSON.stringify(body));
}
