/**
 * Stream metrics of the running engine: every commit of a stream task (here in worker threads, so
 * the reports cross a thread boundary) is counted and its duration observed in
 * `kairos_stream_commit_duration_seconds`, the figure that bounds freshness under load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type RunningEngine } from '../../src/engine/index.js';
import { metricValue as metric } from '../helpers/metrics.js';

const WRITE = 'wk_stream_metrics';

describe('stream metrics', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kairos-stream-metrics-'));
  let engine: RunningEngine;

  beforeAll(async () => {
    engine = await startEngine({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      writeKey: WRITE,
      secretKey: 'sk_stream_metrics',
      partitions: 2,
      streamWorkers: 2,
      logLevel: 'warn',
    });
  });

  afterAll(async () => {
    await engine?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('observes the duration of every stream commit', async () => {
    const batch = Array.from({ length: 40 }, (_, i) => ({
      type: 'track',
      userId: `m-${i % 7}`,
      event: 'Product Viewed',
      messageId: `metrics-${i}`,
      properties: { product_id: `p-${i}` },
    }));
    const response = await fetch(`${engine.url}/v1/batch`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${WRITE}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
    let text = '';
    for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
      text = await (await fetch(`${engine.url}/metrics`)).text();
      if (metric(text, 'kairos_stream_events_processed_total') === batch.length) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(metric(text, 'kairos_stream_events_processed_total')).toBe(batch.length);
    const commits = metric(text, 'kairos_stream_commits_total');
    expect(commits).toBeGreaterThan(0);
    expect(metric(text, 'kairos_stream_commit_duration_seconds_count')).toBe(commits);
    const seconds = metric(text, 'kairos_stream_commit_duration_seconds_sum');
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(commits * 10);
    expect(metric(text, 'kairos_stream_commit_duration_seconds_bucket\\{le="\\+Inf"\\}')).toBe(commits);
  });
});
