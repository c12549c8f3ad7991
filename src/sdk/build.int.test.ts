import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestBrowser } from './testing.js';
import type * as Sdk from './index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = (file: string): string => `${root}dist/sdk/${file}`;

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build-sdk.js'], { cwd: root, stdio: 'pipe' });
}, 120_000);

describe('scripts/build-sdk.js', () => {
  it('builds an IIFE that defines the `kairos` global with the whole API and works from a plain script', async () => {
    const code = readFileSync(dist('kairos.min.js'), 'utf8');
    expect(code).not.toMatch(/\brequire\(|["']node:/);
    // A page without window/document (the SDK must not assume them) and with the usual web globals.
    const page: Record<string, unknown> = {
      TextEncoder,
      btoa,
      AbortController,
      setTimeout,
      clearTimeout,
      console,
      crypto,
    };
    runInNewContext(code, page);
    const kairos = page.kairos as typeof Sdk;
    for (const name of [
      'load',
      'track',
      'page',
      'identify',
      'alias',
      'group',
      'reset',
      'flush',
      'setConsent',
      'getRecommendations',
      'onSegmentChange',
      'createAnalytics',
    ] as const)
      expect(typeof kairos[name]).toBe('function');

    const browser = createTestBrowser();
    kairos.load({ writeKey: 'wk', host: 'http://127.0.0.1:1', env: browser.env });
    kairos.track('Product Viewed', { product_id: 'p1' });
    await kairos.flush();
    const [message] = browser.delivered();
    expect(message).toMatchObject({ type: 'track', event: 'Product Viewed' });
    expect(message!.context.library.version).toBe(
      (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version,
    );
    kairos.close();
  });

  it('builds an ES module with the same named exports', async () => {
    const esm = (await import(pathToFileURL(dist('kairos.esm.js')).href)) as typeof Sdk;
    expect(typeof esm.createAnalytics).toBe('function');
    expect(typeof esm.load).toBe('function');
    expect(esm.SDK_NAME).toBe('kairos-sdk');
  });

  it('reports min and min+gzip sizes in the benchmark format, within the 6 KB budget', () => {
    const report = JSON.parse(readFileSync(`${root}bench/results/sdk-size.json`, 'utf8')) as {
      name: string;
      results: { metric: string; value: number; baselineValue: number; ratio: number }[];
    };
    expect(report.name).toBe('sdk-size');
    const gzip = report.results.find((r) => r.metric === 'kairos.min.js min+gzip')!;
    // The same measure, redone here on the file the build wrote.
    const code = readFileSync(dist('kairos.min.js'), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '');
    expect(gzip.value).toBe(gzipSync(code, { level: 9 }).length);
    expect(gzip.baselineValue).toBe(6144);
    expect(gzip.value).toBeLessThanOrEqual(6144);
    expect(gzip.ratio).toBeCloseTo(gzip.value / 6144, 2);
  });
});
