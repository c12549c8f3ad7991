import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { readDataset, replayToServer } from '../src/datasets/index.js';
const autocannon = createRequire(import.meta.url)('autocannon') as any;
const dir = mkdtempSync('/tmp/dbg-');
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/recommend-serve.ts', '--role', 'engine', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
const url: string = await new Promise((r) => createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('LISTENING') && r(l.slice(10))));
const file = '/work/shared/datasets/taobao-user-behavior/user_behavior_stream_96k.csv';
await replayToServer(readDataset(file, 'taobao'), { url, writeKey: 'wk_bench_recommend', batchSize: 500, concurrency: 4, limit: 200000, shiftToMs: Date.now() - 3600_000 });
for (;;) { const r = await (await fetch(`${url}/readyz`)).json() as any; if (r.partitions.every((p: any) => p.lag === 0)) break; await new Promise((r) => setTimeout(r, 100)); }
await (await fetch(`${url}/v1/models/train?wait=true`, { method: 'POST', headers: { authorization: 'Bearer sk_bench_recommend' } })).text();
const auth = `Basic ${Buffer.from('wk_bench_recommend:').toString('base64')}`;
const users = (await import('node:fs')).readFileSync(file, 'utf8').split('\n').slice(0, 100000).map((l) => l.split(',')[0]).filter(Boolean);
const paths = users.slice(0, 20000).map((u, k) => `/v1/recommendations?userId=tb-${u}&n=10&placement=home&k=${k}`);
for (const [name, p] of [['healthz', ['/healthz']], ['recs-one', [paths[0]!]], ['recs-many', paths], ['healthz', ['/healthz']]] as const) {
  for (const c of [8, 32]) {
    const lat: number[] = [];
    const all = (p as readonly string[]).map((path) => ({ method: 'GET', path }));
    const slices = Array.from({ length: c }, (_, i) => all.filter((_, k) => k % c === i));
    let ci = 0;
    const inst = autocannon({ url, connections: c, duration: 3, headers: { authorization: auth }, requests: [all[0]], setupClient: (cl: any) => { const s = slices[ci++ % c]; if (s.length) cl.setRequests(s); } });
    inst.on('response', (_c: any, s: number, _b: number, ms: number) => lat.push(ms));
    const r = await inst;
    lat.sort((a, b) => a - b);
    console.log(name, 'conns', c, 'req/s', (r['2xx'] / r.duration).toFixed(0), 'p50', lat[lat.length >> 1]?.toFixed(2), 'p99', lat[Math.floor(lat.length * 0.99)]?.toFixed(2));
  }
}
child.kill('SIGKILL');
