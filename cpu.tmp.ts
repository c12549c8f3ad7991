import { join } from 'node:path';
import { ROOT, startBenchEngine, startSustainedLoad } from './bench/lib/engine.js';
import { threadCpu } from './bench/lib/thread-cpu.js';
const DATA = join(ROOT, '..', 'shared', 'datasets', 'taobao-user-behavior', 'user_behavior_stream_96k.csv');
const engine = await startBenchEngine();
await new Promise((r) => setTimeout(r, 1500));
const before = threadCpu(engine.child.pid!);
const load = startSustainedLoad(engine, DATA, Number(process.argv[2] ?? 10000), Number(process.argv[3] ?? 20));
const { summary, engineCpuSeconds } = await load.done;
const after = threadCpu(engine.child.pid!);
const rows = [];
for (const [tid, a] of after) { const d = a.seconds - (before.get(tid)?.seconds ?? 0); if (d > 0.05) rows.push(`${tid} ${(d * 1e6 / summary.accepted).toFixed(1)} µs/ev`); }
console.log(rows.join('\n'));
console.log('engine', (engineCpuSeconds * 1e6 / summary.accepted).toFixed(1), 'µs/event at', summary.eventsPerSecond.toFixed(0), 'ev/s');
await engine.stop();
