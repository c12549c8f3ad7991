import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { startEngine, type RunningEngine } from '../../src/engine/index.js';
import { kairosCommand } from '../helpers/engine-process.js';

const DATASETS = process.env.KAIROS_DATASETS_DIR ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'datasets');

function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...kairosCommand(), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function profile(engine: RunningEngine, userId: string) {
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`${engine.url}/v1/profiles/${userId}`, {
      headers: { authorization: `Bearer ${engine.secretKey}` },
    });
    if (response.ok)
      return (await response.json()) as { features: { eventCount: number; eventCounts: Record<string, number> } };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no profile ${userId}`);
}

describe('kairos replay', () => {
  let engine: RunningEngine;
  const dir = mkdtempSync(join(tmpdir(), 'kairos-replay-'));
  beforeAll(async () => {
    engine = await startEngine({ port: 0, dataDir: join(dir, 'data'), logLevel: 'warn', streamWorkers: 0 });
  });
  afterAll(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replays Segment NDJSON through the collection path, counting rejects, and prints a summary', async () => {
    const file = join(dir, 'events.ndjson');
    const lines = [
      ...Array.from({ length: 50 }, (_, i) =>
        JSON.stringify({
          type: 'track',
          messageId: `nd-${i}`,
          userId: 'nd-user',
          event: 'Product Viewed',
          properties: { product_id: `p${i}` },
          timestamp: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
        }),
      ),
      JSON.stringify({ type: 'track', messageId: 'nd-bad', event: 'No identity' }),
      'this line is not JSON',
    ];
    writeFileSync(file, lines.join('\n') + '\n');
    const result = await runCli(['replay', file, '--url', engine.url, '--write-key', engine.writeKey, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      accepted: number;
      rejected: number;
      rejectedByCode: Record<string, number>;
      linesSkipped: number;
      format: string;
    };
    expect(summary).toMatchObject({ format: 'ndjson', accepted: 50, rejected: 1, linesSkipped: 1 });
    expect(summary.rejectedByCode).toEqual({ COLLECT_MISSING_IDENTITY: 1 });
    expect((await profile(engine, 'nd-user')).features.eventCount).toBe(50);
    // A second replay of the same file adds nothing: message ids are kept, the server counts them once.
    const again = await runCli(['replay', file, '--url', engine.url, '--write-key', engine.writeKey, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 50 });
    await new Promise((r) => setTimeout(r, 300));
    expect((await profile(engine, 'nd-user')).features.eventCount).toBe(50);
  });

  // Skipped only where ../shared/datasets is absent (the datasets cannot be redistributed with the repo).
  it.skipIf(!existsSync(join(DATASETS, 'ml-100k', 'u.data')))(
    'maps ML-100k ratings and Taobao behaviour to events, with a rate limit (needs ../shared/datasets)',
    async () => {
      const ml = await runCli([
        'replay',
        join(DATASETS, 'ml-100k', 'u.data'),
        '--url',
        engine.url,
        '--write-key',
        engine.writeKey,
        '--limit',
        '1000',
        '--json',
      ]);
      expect(ml.code, ml.stderr).toBe(0);
      expect(JSON.parse(ml.stdout)).toMatchObject({ format: 'ml100k', accepted: 1000, rejected: 0 });
      const started = performance.now();
      const tb = await runCli([
        'replay',
        join(DATASETS, 'taobao-user-behavior', 'user_behavior_tail_10k.csv'),
        '--url',
        engine.url,
        '--write-key',
        engine.writeKey,
        '--limit',
        '600',
        '--rate',
        '2000',
        '--json',
      ]);
      const elapsedMs = performance.now() - started;
      expect(tb.code, tb.stderr).toBe(0);
      const summary = JSON.parse(tb.stdout) as { format: string; accepted: number; elapsedMs: number };
      expect(summary).toMatchObject({ format: 'taobao', accepted: 600 });
      // 600 events at 2,000/s cannot finish in less than 0.25 s (rate control holds them back).
      expect(summary.elapsedMs).toBeGreaterThanOrEqual(250);
      expect(elapsedMs).toBeGreaterThanOrEqual(250);
      const user = (await profile(engine, 'tb-999477')).features;
      expect(user.eventCount).toBeGreaterThan(0);
      expect(
        Object.keys(user.eventCounts).every((name) =>
          ['Product Viewed', 'Product Added', 'Product Added to Wishlist', 'Order Completed'].includes(name),
        ),
      ).toBe(true);
    },
  );
});
