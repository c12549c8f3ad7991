// Child process of the StateStore crash test: builds the store from a factory module and commits
// forever; each commit n writes keys crash/0..9 = n, checkpoint offset n and outbox record n, and prints
// "ok n" once the commit resolved. The parent kills it with SIGKILL at a random moment.
import type { StateStore } from './state-port.js';

const [modulePath, optionsJson] = process.argv.slice(2);
const factory = ((await import(modulePath!)) as { default: (options: unknown) => Promise<StateStore> }).default;
const store = await factory(JSON.parse(optionsJson!));
const partition = await store.acquire(7, `crash-child-${process.pid}`);
let n = (await partition.checkpoint())?.offset ?? 0;
process.stdout.write('started\n');
for (;;) {
  n += 1;
  await partition.commit({
    puts: Array.from({ length: 10 }, (_, i) => [`crash/${i}`, n] as const),
    deletes: [],
    checkpoint: { offset: n, meta: {} },
    outbox: [n],
  });
  process.stdout.write(`ok ${n}\n`);
}
