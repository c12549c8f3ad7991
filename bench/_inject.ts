import { mkdtempSync, readFileSync } from 'node:fs';
import { startEngine } from '../src/engine/index.js';
import { createRecommendationExtension } from '../src/recommend/index.js';
import { readDataset, replayToServer } from '../src/datasets/index.js';
const dataDir = mkdtempSync('/tmp/inj-');
const engine = await startEngine({ host: '127.0.0.1', port: 0, dataDir, writeKey: 'wk', secretKey: 'sk', partitions: 4, streamWorkers: 1, logLevel: 'warn',
  extensions: [createRecommendationExtension({ minInteractions: Number.MAX_SAFE_INTEGER, retrainInterval: 0, retrainEveryInteractions: 0, cacheTtl: process.argv[2] ?? '30s' })] });
const file = '/work/shared/datasets/taobao-user-behavior/user_behavior_stream_96k.csv';
await replayToServer(readDataset(file, 'taobao'), { url: engine.url, writeKey: 'wk', batchSize: 500, concurrency: 4, shiftToMs: Date.now() - 7200_000 });
for (;;) { const r = await (await fetch(`${engine.url}/readyz`)).json() as any; if (r.partitions.every((p: any) => p.lag === 0)) break; await new Promise((r) => setTimeout(r, 100)); }
await (await fetch(`${engine.url}/v1/models/train?wait=true`, { method: 'POST', headers: { authorization: 'Bearer sk' } })).text();
const auth = `Basic ${Buffer.from('wk:').toString('base64')}`;
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const paths = Array.from({ length: 20000 }, (_, k) => { const [u, i] = lines[(k * 7919) % lines.length]!.split(','); return k % 4 === 0 ? `/v1/recommendations?userId=tb-${u}&placement=product&itemId=${i}&n=10` : `/v1/recommendations?userId=tb-${u}&n=10`; });
const app = engine.app;
async function time(name: string, list: string[], rounds: number) {
  for (let r = 0; r < 2000; r++) await app.inject({ method: 'GET', url: list[r % list.length]!, headers: { authorization: auth } });
  const t = performance.now(); const cpu = process.cpuUsage();
  for (let r = 0; r < rounds; r++) await app.inject({ method: 'GET', url: list[r % list.length]!, headers: { authorization: auth } });
  const el = performance.now() - t; const c = process.cpuUsage(cpu);
  console.log(name, ((el * 1000) / rounds).toFixed(1), 'µs wall/req', ((c.user + c.system) / rounds).toFixed(1), 'µs cpu/req');
}
await time('healthz', ['/healthz'], 20000);
await time('recs same', [paths[1]!], 20000);
await time('recs 20k paths (1st pass)', paths, 20000);
const { Session } = await import('node:inspector/promises');
const session = new Session(); session.connect();
await session.post('Profiler.enable'); await session.post('Profiler.start');
await time('recs 20k paths (2nd pass)', paths, Number(process.argv[3] ?? 20000));
const { profile } = await session.post('Profiler.stop');
(await import('node:fs')).writeFileSync('/tmp/window.cpuprofile', JSON.stringify(profile));
await time('healthz', ['/healthz'], 20000);
const { default: Fastify } = await import('fastify');
const bare = Fastify({ logger: false });
bare.get('/hello', () => ({ hello: 'world' }));
await bare.ready();
for (let k = 0; k < 2; k++) {
  for (let r = 0; r < 2000; r++) await bare.inject({ method: 'GET', url: '/hello' });
  const t = performance.now(); const cpu = process.cpuUsage();
  for (let r = 0; r < 20000; r++) await bare.inject({ method: 'GET', url: '/hello' });
  const c = process.cpuUsage(cpu);
  console.log('bare hello', ((performance.now() - t) * 1000 / 20000).toFixed(1), 'µs wall/req', ((c.user + c.system) / 20000).toFixed(1), 'µs cpu/req');
}
await engine.stop();
