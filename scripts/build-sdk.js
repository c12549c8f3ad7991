#!/usr/bin/env node
// Builds the browser SDK (src/sdk/) with esbuild:
//   dist/sdk/kairos.min.js  IIFE, global `kairos`, minified (for <script src>)
//   dist/sdk/kairos.esm.js  ES module, minified (for bundlers and <script type="module">)
// and reports its size (minified, minified+gzip) against the 6 KB min+gzip budget and against a
// minimal hand-written "send one event" snippet built the same way, printed and written to
// bench/results/sdk-size.json in the benchmark result format.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'dist', 'sdk');
const resultFile = join(root, 'bench', 'results', 'sdk-size.json');
const BUDGET_GZIP_BYTES = 6 * 1024;

const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Same settings for the SDK and the baseline snippet, so the comparison is fair. */
const common = {
  bundle: true,
  minify: true,
  platform: 'browser',
  // Browsers of the last five years: optional chaining and `??` stay as written.
  target: ['es2020'],
  legalComments: 'none',
  absWorkingDir: root,
  logLevel: 'warning',
  define: { __KAIROS_SDK_VERSION__: JSON.stringify(version) },
};

/** The least code that sends one Segment event the way the SDK does (no queue, no retry, nothing else). */
const BASELINE_SNIPPET = `
globalThis.kairosMini = {
  track(host, writeKey, event, properties) {
    var now = new Date().toISOString();
    var message = { type: 'track', event: event, properties: properties, timestamp: now,
      messageId: 'ksdk-' + Date.now() + '-' + crypto.randomUUID(), anonymousId: localStorage.kid ||
      (localStorage.kid = crypto.randomUUID()), context: { library: { name: 'mini', version: '0' } } };
    return fetch(host + '/v1/batch', { method: 'POST', keepalive: true, headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ batch: [message], sentAt: now, writeKey: writeKey }) });
  },
};
`;

function sizes(code) {
  const bytes = Buffer.from(code);
  return { min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

mkdirSync(outDir, { recursive: true });
// The IIFE entry assigns `globalThis.kairos` itself (see src/sdk/global.ts); the ESM build exports index.ts.
await build({
  ...common,
  entryPoints: [join(root, 'src', 'sdk', 'global.ts')],
  format: 'iife',
  outfile: join(outDir, 'kairos.min.js'),
  sourcemap: 'linked',
});
await build({
  ...common,
  entryPoints: [join(root, 'src', 'sdk', 'index.ts')],
  format: 'esm',
  outfile: join(outDir, 'kairos.esm.js'),
  sourcemap: 'linked',
});
const baseline = await build({
  ...common,
  stdin: { contents: BASELINE_SNIPPET, loader: 'js', resolveDir: root },
  format: 'iife',
  write: false,
});

const iife = sizes(readFileSync(join(outDir, 'kairos.min.js'), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, ''));
const esm = sizes(readFileSync(join(outDir, 'kairos.esm.js'), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, ''));
const mini = sizes(baseline.outputFiles[0].text);

const ratio = (value, base) => Math.round((value / base) * 1000) / 1000;
const results = [
  {
    metric: 'kairos.min.js min+gzip',
    value: iife.gzip,
    unit: 'bytes',
    baseline: '6 KB min+gzip budget',
    baselineValue: BUDGET_GZIP_BYTES,
    ratio: ratio(iife.gzip, BUDGET_GZIP_BYTES),
    goal: `<= ${BUDGET_GZIP_BYTES} bytes (ratio <= 1)`,
  },
  {
    metric: 'kairos.min.js min+gzip vs fetch-one-event snippet',
    value: iife.gzip,
    unit: 'bytes',
    baseline: 'hand-written fetch-one-event snippet, min+gzip',
    baselineValue: mini.gzip,
    ratio: ratio(iife.gzip, mini.gzip),
    goal: 'informative: the price of queue, retry, consent, identity, recommendations and SSE',
  },
  {
    metric: 'kairos.min.js min',
    value: iife.min,
    unit: 'bytes',
    baseline: 'hand-written fetch-one-event snippet, min',
    baselineValue: mini.min,
    ratio: ratio(iife.min, mini.min),
    goal: 'informative',
  },
  {
    metric: 'kairos.esm.js min+gzip',
    value: esm.gzip,
    unit: 'bytes',
    baseline: '6 KB min+gzip budget',
    baselineValue: BUDGET_GZIP_BYTES,
    ratio: ratio(esm.gzip, BUDGET_GZIP_BYTES),
    goal: `<= ${BUDGET_GZIP_BYTES} bytes (ratio <= 1)`,
  },
];
const report = {
  name: 'sdk-size',
  date: new Date().toISOString(),
  node: process.version,
  cpus: availableParallelism(),
  results,
  notes:
    'esbuild, minified, target es2020, no source map comment counted; gzip level 9 via node:zlib. ' +
    `kairos.esm.js min ${esm.min} bytes. Built by scripts/build-sdk.js (npm run build:sdk).`,
};
// The benchmark (`npm run bench -- sdk-size`) records the result; a plain build leaves the tree clean.
if (process.argv.includes('--report')) {
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(resultFile, `${JSON.stringify(report, null, 2)}\n`);
}

const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
console.log(
  `dist/sdk/kairos.min.js  min ${kb(iife.min)}  min+gzip ${kb(iife.gzip)}  (budget ${kb(BUDGET_GZIP_BYTES)}, ratio ${ratio(iife.gzip, BUDGET_GZIP_BYTES)})`,
);
console.log(`dist/sdk/kairos.esm.js  min ${kb(esm.min)}  min+gzip ${kb(esm.gzip)}`);
console.log(
  `baseline snippet        min ${kb(mini.min)}  min+gzip ${kb(mini.gzip)}  (SDK/snippet gzip ratio ${ratio(iife.gzip, mini.gzip)})`,
);
if (process.argv.includes('--report')) console.log(`wrote ${resultFile}`);
if (iife.gzip > BUDGET_GZIP_BYTES)
  console.warn(`warning: kairos.min.js is over the ${kb(BUDGET_GZIP_BYTES)} min+gzip budget`);
