// Child process of the Redis fencing integration test: an owner that another process will replace.
// argv: <options JSON> <partition> <mode>
//   gate:   acquire, print "acquired <token>", wait for a line on stdin, then try ONE commit and print
//           "result ok" or "result <code>"; exit.
//   stream: acquire, then commit forever (commit n writes zombie/<n>, loop = n, offset n, outbox n) and
//           print "ok n" after each, until a commit fails: print "result <code>" and exit. The parent
//           freezes it with SIGSTOP and thaws it with SIGCONT.
import { createInterface } from 'node:readline';
import { createRedisStateStore } from './redis-state-store.js';
import type { RedisStateStoreOptions } from './options.js';

const [optionsJson, partitionArg, mode] = process.argv.slice(2);
const store = await createRedisStateStore(JSON.parse(optionsJson!) as RedisStateStoreOptions);
const partition = Number(partitionArg);
const handle = await store.acquire(partition, `fencing-child-${process.pid}`);
const codeOf = (error: unknown) => (error as { code?: string }).code ?? String(error);

if (mode === 'gate') {
  process.stdout.write(`acquired ${handle.token}\n`);
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  lines.close();
  try {
    await handle.commit({
      puts: [
        ['zombie/a', 'zombie'],
        ['shared', 'zombie'],
      ],
      deletes: ['keep'],
      checkpoint: { offset: 999, meta: { by: 'zombie' } },
      outbox: ['zombie'],
    });
    process.stdout.write('result ok\n');
  } catch (error) {
    process.stdout.write(`result ${codeOf(error)}\n`);
  }
} else {
  let n = (await handle.checkpoint())?.offset ?? 0;
  process.stdout.write(`acquired ${handle.token}\n`);
  for (;;) {
    n += 1;
    try {
      await handle.commit({
        puts: [
          [`zombie/${n}`, n],
          ['loop', n],
        ],
        deletes: [],
        checkpoint: { offset: n, meta: {} },
        outbox: [n],
      });
      process.stdout.write(`ok ${n}\n`);
    } catch (error) {
      process.stdout.write(`result ${codeOf(error)} ${n}\n`);
      break;
    }
  }
}
await store.close();
