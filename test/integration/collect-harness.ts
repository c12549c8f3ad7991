import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createCollector, type Collector, type CollectorOptions } from '../../src/collect/index.js';
import { decodePayload, silentLogger, systemClock, type Clock, type LogPayload } from '../../src/core/index.js';
import { createEmbeddedEventLog, type EmbeddedEventLogOptions, type EventLog } from '../../src/log/index.js';
import { collectRoutes, createHttpServer, deadLetterRoutes, schemaRoutes, type KeyRing } from '../../src/serve/index.js';
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
    routes: [
      collectRoutes({ collector, clock, ...(options.collector?.maxRequestBytes ? { maxRequestBytes: options.collector.maxRequestBytes } : {}) }),
      schemaRoutes({ collector }),
      deadLetterRoutes({ collector }),
    ],
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
          for (const r of records) out.push({ partition: r.partition, offset: r.offset, key: r.key, payload: decodePayload(r.value) });
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
