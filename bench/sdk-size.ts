/**
 * Browser SDK size (min and min+gzip) beside a hand-written "send one event" snippet built the same
 * way: the build script measures both and writes bench/results/sdk-size.json. Goal ≤ 6 KB min+gzip.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const run = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'scripts', 'build-sdk.js'), '--report'], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
