/**
 * Broker outage (issue 7 acceptance): under load, the collector loses RabbitMQ. While it is gone every
 * request must be answered 503 with Retry-After — never 200, since nothing can be confirmed — and once
 * the broker is back, every event that got a 200 must be in the profiles, exactly once.
 *
 * The outage is a cut of the collector's broker connection through a TCP proxy (both sides reset, new
 * connections refused): the broker is shared with other test runs, and stopping it would break them.
 * Set KAIROS_TEST_BROKER_OUTAGE=stop-app to stop the whole broker instead (`rabbitmqctl stop_app`, then
 * `start_app` — always, in a finally); workers and the api then lose it too.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SegmentMessage } from '../../src/datasets/index.js';
import { sessionCount } from '../../src/profiles/index.js';
import { freePort } from '../helpers/engine-process.js';
import {
  BatchReference,
  RoleProcess,
  TcpProxy,
  compareProfiles,
  deployment,
  dropDeployment,
  ensureServices,
  taobaoEvents,
  waitCaughtUp,
  waitForAssignment,
} from './distributed-harness.js';

const MODE = process.env.KAIROS_TEST_BROKER_OUTAGE === 'stop-app' ? 'stop-app' : 'proxy';
const EVENTS = 40_000;
const BATCH = 100;
const CONCURRENCY = 4;
const RATE_PER_SECOND = 1_500;
const OUTAGE_MS = 8_000;

interface Attempt {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly status: number;
  readonly retryAfter: string | null;
  readonly code: string | undefined;
}

function rabbitmqctl(...args: string[]): void {
  execFileSync('rabbitmqctl', args, { stdio: 'ignore', timeout: 120_000 });
}

describe(`distributed mode: RabbitMQ outage under load (${MODE})`, () => {
  const dep = deployment('outage', 4);
  const processes: RoleProcess[] = [];
  const proxy = new TcpProxy(5672);

  beforeAll(async () => {
    await ensureServices();
  }, 300_000);

  afterAll(async () => {
    proxy.restore();
    await Promise.all(processes.map((p) => p.stop()));
    await proxy.close();
    await dropDeployment(dep.namespace);
  }, 120_000);

  it('answers 503 + Retry-After while the broker is gone, never 200, and keeps every acknowledged event', async () => {
    await proxy.start();
    const collectorEnv =
      MODE === 'proxy' ? dep.env({ KAIROS_LOG_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}` }) : dep.env();
    const collector = new RoleProcess('collector', await freePort(), collectorEnv);
    processes.push(collector);
    await collector.start();
    const workers = await Promise.all([0, 1].map(async () => new RoleProcess('worker', await freePort(), dep.env())));
    const api = new RoleProcess('api', await freePort(), dep.env());
    processes.push(...workers, api);
    await Promise.all([...workers.map((w) => w.start()), api.start()]);
    await waitForAssignment(workers, dep.partitions);

    // The load: fresh batches at a steady rate, each retried with the same messageIds until a 200.
    const reference = new BatchReference();
    const attempts: Attempt[] = [];
    const auth = `Basic ${Buffer.from(`${dep.writeKey}:`).toString('base64')}`;
    const send = async (batch: SegmentMessage[]) => {
      const body = JSON.stringify({ batch });
      for (;;) {
        const startedAt = performance.now();
        let status = 0;
        let retryAfter: string | null = null;
        let code: string | undefined;
        try {
          const response = await fetch(`${collector.url}/v1/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: auth },
            body,
          });
          status = response.status;
          retryAfter = response.headers.get('retry-after');
          const payload = (await response.json()) as { rejected?: { index: number }[]; error?: { code: string } };
          code = payload.error?.code;
          if (status === 200) {
            const rejected = new Set((payload.rejected ?? []).map((r) => r.index));
            batch.forEach((m, i) => rejected.has(i) || reference.add(m));
          }
        } finally {
          attempts.push({ startedAt, endedAt: performance.now(), status, retryAfter, code });
        }
        if (status === 200) return;
        if (status !== 503) throw new Error(`unexpected status ${status} (${code})`);
        await new Promise((r) => setTimeout(r, Math.min(1_000, Number(retryAfter ?? 1) * 1_000)));
      }
    };
    const load = (async () => {
      const inFlight = new Set<Promise<void>>();
      let batch: SegmentMessage[] = [];
      let sent = 0;
      const started = performance.now();
      for await (const m of taobaoEvents(EVENTS, 'o')) {
        if (sent >= EVENTS) break;
        batch.push(m);
        sent++;
        if (batch.length < BATCH) continue;
        const due = (sent / RATE_PER_SECOND) * 1_000 - (performance.now() - started);
        if (due > 0) await new Promise((r) => setTimeout(r, due));
        while (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
        const p = send(batch).finally(() => inFlight.delete(p));
        inFlight.add(p);
        batch = [];
      }
      await Promise.all(inFlight);
      return sent;
    })();

    while (reference.acknowledged.size < 5_000) await new Promise((r) => setTimeout(r, 50));
    let cutAt = 0;
    let restoreAt = 0;
    try {
      if (MODE === 'proxy') proxy.cut();
      else rabbitmqctl('stop_app');
      cutAt = performance.now();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
    } finally {
      restoreAt = performance.now();
      if (MODE === 'proxy') proxy.restore();
      else rabbitmqctl('start_app');
    }
    const sent = await load;
    const recoveredAfterMs = Math.min(
      ...attempts.filter((a) => a.startedAt >= restoreAt && a.status === 200).map((a) => a.endedAt - restoreAt),
    );

    const during = attempts.filter((a) => a.startedAt >= cutAt && a.endedAt <= restoreAt);
    const byStatus = during.reduce<Record<string, number>>(
      (acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }),
      {},
    );
    console.log(
      `outage ${Math.round(restoreAt - cutAt)} ms: ${during.length} requests answered meanwhile ${JSON.stringify(byStatus)}, codes ${JSON.stringify([...new Set(during.map((a) => a.code))])}; ` +
        `first 200 ${Math.round(recoveredAfterMs)} ms after the broker returned; ${attempts.length} attempts for ${sent / BATCH} batches`,
    );
    expect(during.length).toBeGreaterThanOrEqual(4);
    expect(during.filter((a) => a.status === 200)).toEqual([]);
    for (const a of during) {
      expect(a.status).toBe(503);
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
    }
    expect(reference.acknowledged.size).toBe(sent);

    await waitCaughtUp(api);
    const result = await compareProfiles(dep.namespace, reference, sessionCount);
    expect(result.examples).toEqual([]);
    expect(result.missing).toEqual([]);
    expect(result.mismatches).toBe(0);
    expect(result.profiles).toBe(reference.users.size);
  }, 900_000);
});
