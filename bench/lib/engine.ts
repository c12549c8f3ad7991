import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'kairos.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface BenchEngine {
  readonly url: string;
  readonly writeKey: string;
  readonly secretKey: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** `kairos start` from the build (npm run build first) in its own process and data dir. */
export async function startBenchEngine(env: Record<string, string> = {}): Promise<BenchEngine> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'kairos-bench-engine-'));
  const writeKey = 'wk_bench';
  const secretKey = 'sk_bench';
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: { ...process.env, PORT: String(port), KAIROS_DATA_DIR: dataDir, KAIROS_WRITE_KEY: writeKey, KAIROS_SECRET_KEY: secretKey, KAIROS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`engine exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    writeKey,
    secretKey,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs `kairos replay` in another process (the load generator must not share the bench's event loop). */
export function startReplay(url: string, writeKey: string, file: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, 'replay', file, '--url', url, '--write-key', writeKey, '--json', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}
