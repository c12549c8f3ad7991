import { symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSealRecord } from '../../src/core/index.js';
import { createEmbeddedEventLog } from '../../src/log/index.js';
import {
  basicAuth,
  postJson,
  removeDir,
  startCollectServer,
  type CollectServer,
  type RawResponse,
} from './collect-harness.js';

const auth = { authorization: basicAuth('WK_test') };

function batchOf(tag: string, count: number, bytesEach: number) {
  return {
    batch: Array.from({ length: count }, (_, i) => ({
      type: 'track',
      event: 'Load',
      userId: `bp-${i % 5}`,
      messageId: `${tag}-${i}`,
      properties: { pad: 'x'.repeat(bytesEach) },
    })),
  };
}

/** messageIds found in the log, read back through a fresh instance of the log over the same directory. */
async function durableIds(server: CollectServer): Promise<Map<string, number>> {
  const dir = join(server.dir, 'log');
  const partitionCount = server.log.partitionCount;
  await server.stop();
  const log = await createEmbeddedEventLog({ dir, partitionCount });
  const counts = new Map<string, number>();
  try {
    for (let p = 0; p < log.partitionCount; p++) {
      const { start, end } = await log.offsets(p);
      const reader = await log.openReader(p, start);
      while (reader.position < end) {
        for (const record of await reader.read({ maxRecords: 1000, waitMs: 0 })) {
          const payload = JSON.parse(Buffer.from(record.value).toString('utf8')) as {
            messageId: string;
            control?: string;
          };
          if (!isSealRecord(payload as never)) counts.set(payload.messageId, (counts.get(payload.messageId) ?? 0) + 1);
        }
      }
      await reader.close();
    }
  } finally {
    await log.close();
  }
  return counts;
}

function expectRetryable503(answer: RawResponse, code: string): void {
  expect(answer.status, answer.text).toBe(503);
  expect(answer.headers['retry-after']).toBe('1');
  expect((answer.json as { error: { code: string } }).error.code).toBe(code);
}

describe('collector under backpressure: 503 + Retry-After, never an acknowledgement that is not durable', () => {
  it('a full log (tiny maxPendingBytes) answers LOG_BACKPRESSURE; retried requests then succeed, each message once', async () => {
    const server = await startCollectServer({ logOptions: { partitionCount: 1, maxPendingBytes: 64 * 1024 } });
    try {
      const bodies = Array.from({ length: 40 }, (_, r) => batchOf(`full-${r}`, 20, 1000));
      const answers = await Promise.all(bodies.map((body) => postJson(server.url, '/v1/batch', body, auth)));
      const acknowledged = answers.flatMap((a, r) =>
        a.status === 200 ? bodies[r]!.batch.map((m) => m.messageId) : [],
      );
      const refused = answers.map((a, r) => [a, r] as const).filter(([a]) => a.status !== 200);
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(refused.length).toBeGreaterThan(0);
      for (const [answer] of refused) expectRetryable503(answer, 'LOG_BACKPRESSURE');
      expect(server.collector.stats().appendFailures).toBe(refused.length);

      // Clients retry after Retry-After: eventually everything is in.
      for (const [, r] of refused) {
        let answer: RawResponse;
        do answer = await postJson(server.url, '/v1/batch', bodies[r], auth);
        while (answer.status === 503);
        expect(answer.json).toEqual({ success: true, accepted: 20, rejected: [] });
      }
      const durable = await durableIds(server);
      for (const id of acknowledged) expect(durable.get(id), id).toBe(1);
      // Refused appends were never written: no duplicates anywhere.
      for (const body of bodies) for (const m of body.batch) expect(durable.get(m.messageId), m.messageId).toBe(1);
    } finally {
      removeDir(server.dir);
    }
  });

  it('a log that cannot write (disk full) answers LOG_UNAVAILABLE, undoes its identity links, and heals', async () => {
    const server = await startCollectServer({ logOptions: { partitionCount: 1, segmentBytes: 1 } });
    try {
      const first = await postJson(server.url, '/v1/batch', batchOf('ok', 3, 10), auth);
      expect(first.status).toBe(200);
      // segmentBytes 1: the next flush starts a new segment named after its first offset. /dev/full makes
      // every write to it fail with ENOSPC: a real full disk for that file.
      const { end } = await server.log.offsets(0);
      const next = join(server.dir, 'log', 'p0000', `${String(end).padStart(20, '0')}.seg`);
      symlinkSync('/dev/full', next);

      const login = {
        batch: [{ type: 'identify', anonymousId: 'disk-anon', userId: 'disk-user', messageId: 'disk-login' }],
      };
      expectRetryable503(await postJson(server.url, '/v1/batch', login, auth), 'LOG_UNAVAILABLE');
      // Nothing was acknowledged, so the link is not in force either.
      expect(server.collector.resolveProfileKey({ anonymousId: 'disk-anon' })).toBe('a:disk-anon');
      expectRetryable503(await postJson(server.url, '/v1/batch', batchOf('down', 2, 10), auth), 'LOG_UNAVAILABLE');

      unlinkSync(next);
      let healed: RawResponse;
      do healed = await postJson(server.url, '/v1/batch', login, auth);
      while (healed.status === 503);
      expect(healed.json).toEqual({ success: true, accepted: 1, rejected: [] });
      expect(server.collector.resolveProfileKey({ anonymousId: 'disk-anon' })).toBe('u:disk-user');
      const durable = await durableIds(server);
      for (const id of ['ok-0', 'ok-1', 'ok-2', 'disk-login']) expect(durable.get(id), id).toBeGreaterThanOrEqual(1);
    } finally {
      removeDir(server.dir);
    }
  });

  it('sheds load itself beyond the in-flight byte budget (COLLECT_OVERLOADED)', async () => {
    const server = await startCollectServer({ collector: { maxInFlightBytes: 50_000 } });
    try {
      const bodies = Array.from({ length: 20 }, (_, r) => batchOf(`shed-${r}`, 20, 2000));
      const answers = await Promise.all(bodies.map((body) => postJson(server.url, '/v1/batch', body, auth)));
      const shed = answers.filter((a) => a.status === 503);
      expect(shed.length).toBeGreaterThan(0);
      for (const answer of shed) expectRetryable503(answer, 'COLLECT_OVERLOADED');
      expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
      expect(server.collector.stats().inFlightBytes).toBe(0);
      const ok = await postJson(server.url, '/v1/batch', batchOf('shed-after', 1, 10), auth);
      expect(ok.status).toBe(200);
    } finally {
      await server.stop();
      removeDir(server.dir);
    }
  });
});
