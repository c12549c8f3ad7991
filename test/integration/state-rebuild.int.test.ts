/**
 * A crash of the machine while stream state was not yet flushed (the embedded state store flushes by a
 * timer, docs/stream.md): `kairos start` as a real process is killed with `kill -9` — what a power loss
 * does to the process — and the state directory's marker is made to name an earlier boot, which is what
 * a reboot changes. The restarted engine must not trust that state: it moves it aside, rebuilds every
 * profile from the event log (the same profiles as before), and delivers the segment webhooks again
 * from the start with the same idempotency keys (the outbox cursors of the old state are forgotten; kept,
 * they would skip the rebuilt outbox).
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_HEADER } from '../../src/segments/index.js';
import { UNFLUSHED_MARKER } from '../../src/store/embedded/unflushed-marker.js';
import { EngineProcess, fourViewsThenReturn, freePort, until } from '../helpers/engine-process.js';

const WRITE = 'wk_state_rebuild';
const SECRET = 'sk_state_rebuild';
const USERS = 12;

describe('stream state after a crash of the machine', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kairos-state-rebuild-'));
  let engine: EngineProcess | undefined;
  let receiver: Server | undefined;
  afterAll(async () => {
    await engine?.stop();
    await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('moves the unflushed state aside, rebuilds the same profiles from the log and redelivers webhooks', async () => {
    const deliveries: string[] = [];
    receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        deliveries.push(String(request.headers[IDEMPOTENCY_HEADER]));
        response.writeHead(200).end();
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
      body: JSON.stringify({ url: hookUrl, secret: 'whsec_state_rebuild_0123456789', segments: ['high-intent'] }),
    });
    expect(put.status).toBeLessThan(300);

    // Each visitor: traits and 4 views of one product (enters high-intent); then, for every visitor, a
    // page 20 minutes later (the watermark passes the window: exits).
    const T = Date.now() - 3_600_000;
    const batch: Record<string, unknown>[] = Array.from({ length: USERS }, (_, u) => ({
      type: 'identify',
      userId: `rb-${u}`,
      messageId: `ri-${u}`,
      traits: { plan: u % 2 ? 'pro' : 'free' },
      timestamp: new Date(T - 1_000).toISOString(),
    }));
    batch.push(
      ...fourViewsThenReturn({
        users: USERS,
        user: 'rb',
        id: 'r',
        at: T,
        properties: (u) => ({ category: `cat-${u % 3}` }),
      }),
    );
    const sent = await engine.postBatch(batch);
    expect(sent.status).toBe(200);
    await engine.waitCaughtUp();
    await until(() => new Set(deliveries).size >= 2 * USERS);

    const profiles = async () => {
      const out: unknown[] = [];
      for (let u = 0; u < USERS; u++) {
        const response = await fetch(`${engine!.url}/v1/profiles/rb-${u}`, {
          headers: { authorization: `Bearer ${SECRET}` },
        });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { traits: unknown; features: unknown; segments: unknown };
        out.push({ traits: body.traits, features: body.features, segments: body.segments });
      }
      return out;
    };
    const before = await profiles();
    expect(before[0]).toMatchObject({ features: { eventCount: 6, sessionCount: 1 }, traits: { plan: 'free' } });
    const keysBefore = new Set(deliveries);
    const deliveredBefore = deliveries.length;

    // The crash of the machine: the process dies with no shutdown step, and the marker it left names a
    // boot that is over.
    await engine.kill9();
    const markerPath = join(dataDir, 'state', UNFLUSHED_MARKER);
    const marker = JSON.parse(readFileSync(markerPath, 'utf8')) as { bootId: string };
    writeFileSync(markerPath, JSON.stringify({ ...marker, bootId: 'an-earlier-boot' }));

    await engine.start();
    expect(readdirSync(join(dataDir, 'state')).some((name) => name.startsWith('torn-'))).toBe(true);
    expect(engine.log).toContain('moved aside');
    await engine.waitCaughtUp();
    expect(await profiles()).toEqual(before);

    // Every change is delivered again, under the key it had.
    await until(() => deliveries.length >= deliveredBefore + 2 * USERS, 60_000);
    expect(new Set(deliveries.slice(deliveredBefore))).toEqual(keysBefore);
  }, 180_000);
});
