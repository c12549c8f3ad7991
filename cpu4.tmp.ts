import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, startBenchEngine, startSustainedLoad } from './bench/lib/engine.js';
import { threadCpu } from './bench/lib/thread-cpu.js';
const DATA = join(ROOT, '..', 'shared', 'datasets', 'taobao-user-behavior', 'user_behavior_stream_96k.csv');
const engine = await startBenchEngine();
await new Promise((r) => setTimeout(r, 1500));
const load = startSustainedLoad(engine, DATA, 10000, 15);
await new Promise((r) => setTimeout(r, 3000));
const before = threadCpu(engine.child.pid!);
const st = spawn('perf', ['record', '-F', '999', '-g', '-o', '/tmp/perf3.data', '-p', String(engine.child.pid)], { stdio: ['ignore', 'ignore', 'ignore'] });
await new Promise((r) => setTimeout(r, 8000));
st.kill('SIGINT');
await new Promise((r) => st.once('exit', r));
const after = threadCpu(engine.child.pid!);
for (const [tid, a] of after) { const d = a.seconds - (before.get(tid)?.seconds ?? 0); if (d > 0.05) console.log(tid, d.toFixed(2)); }
await load.done;
await engine.stop();
