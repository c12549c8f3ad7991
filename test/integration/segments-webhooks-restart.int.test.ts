/**
 * Webhooks through a crash (issue 4 acceptance): `kairos start` as a real process, a webhook receiver
 * that fails the first attempt of every third change, and a `kill -9` of the engine while deliveries
 * are under way. After the restart, the receiver has every enter and exit of `high-intent` exactly
 * once per idempotency key (a retry after the crash may repeat a key — that is what the key is for —
 * but no change is missing and none got two keys), and every request carried a valid signature.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ATTEMPT_HEADER,
  IDEMPOTENCY_HEADER,
  SIGNATURE_HEADER,
  verifyWebhookSignature,
} from '../../src/segments/index.js';
import { EngineProcess, fourViewsThenReturn, freePort, until } from '../helpers/engine-process.js';

const WRITE = 'wk_hooks_restart';
const SECRET = 'sk_hooks_restart';
const HOOK_SECRET = 'whsec_hooks_restart_0123456789';
const USERS = 40;

interface Received {
  key: string;
  attempt: number;
  valid: boolean;
  answered: number;
  body: { type: string; segmentId: string; profileKey?: string; profileId?: string };
}

describe('segment webhooks across a kill -9 of the engine', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kairos-hooks-restart-'));
  let engine: EngineProcess | undefined;
  let receiver: Server | undefined;
  afterAll(async () => {
    await engine?.stop();
    await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers every enter/exit once per idempotency key, signed, through receiver failures and a crash', async () => {
    const received: Received[] = [];
    let seen = 0;
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const attempt = Number(request.headers[ATTEMPT_HEADER] ?? 1);
        // Fail the first attempt of every third request seen.
        const answered = attempt === 1 && seen++ % 3 === 0 ? 503 : 200;
        received.push({
          key: String(request.headers[IDEMPOTENCY_HEADER]),
          attempt,
          valid: verifyWebhookSignature({
            secret: HOOK_SECRET,
            header: String(request.headers[SIGNATURE_HEADER] ?? ''),
            body: raw,
          }),
          answered,
          body: JSON.parse(raw) as Received['body'],
        });
        response.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    const hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`;

    engine = new EngineProcess({ dataDir, port: await freePort(), writeKey: WRITE, secretKey: SECRET });
    await engine.start();
    const put = await fetch(`${engine.url}/v1/destinations/crm`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: hookUrl, secret: HOOK_SECRET, segments: ['high-intent'] }),
    });
    expect(put.status).toBeLessThan(300);

    // An hour ago: each visitor views one product 4 times (enter), then comes back 20 minutes later
    // (the watermark passes the 10-minute window: exit by timer).
    const T = Date.now() - 3_600_000;
    const batch = fourViewsThenReturn({ users: USERS, user: 'hook', id: 'h', at: T });
    const sent = await engine.postBatch(batch);
    expect(sent.status).toBe(200);

    const accepted = () => new Set(received.filter((r) => r.answered === 200).map((r) => r.key));
    // Crash while deliveries are under way.
    await until(() => accepted().size >= 10);
    await engine.kill9();
    const beforeRestart = accepted().size;
    expect(beforeRestart).toBeLessThan(2 * USERS);
    await engine.start();
    await until(() => accepted().size >= 2 * USERS);
    await new Promise((r) => setTimeout(r, 1_500)); // anything more would be a duplicate change

    const byChange = new Map<string, Set<string>>();
    for (const r of received) {
      const change = `${r.body.profileKey ?? r.body.profileId}|${r.body.segmentId}|${r.body.type}`;
      if (!byChange.has(change)) byChange.set(change, new Set());
      byChange.get(change)!.add(r.key);
    }
    expect(accepted().size).toBe(2 * USERS);
    expect(byChange.size).toBe(2 * USERS);
    expect([...byChange.values()].every((keys) => keys.size === 1)).toBe(true);
    expect(received.every((r) => r.valid)).toBe(true);
    expect(received.some((r) => r.answered === 503)).toBe(true);
    expect(received.filter((r) => r.body.type === 'enter')).not.toHaveLength(0);
    expect(new Set(received.filter((r) => r.body.type === 'exit').map((r) => r.key)).size).toBe(USERS);
    console.log(`${received.length} requests for ${2 * USERS} changes; ${beforeRestart} accepted before the kill -9`);
  }, 180_000);
});
