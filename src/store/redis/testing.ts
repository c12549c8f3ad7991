// Test support (used by the Redis adapter's conformance and integration tests, not by the engine).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const TEST_REDIS_URL = 'redis://127.0.0.1:6379';
const servicesScript = fileURLToPath(new URL('../../../scripts/services.sh', import.meta.url));

function redisAnswers(port: number): boolean {
  try {
    return (
      execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], {
        encoding: 'utf8',
        timeout: 5_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() === 'PONG'
    );
  } catch {
    return false;
  }
}

/** Makes sure the shared test Redis runs (starting the local services when it does not); throws loudly otherwise. */
export function ensureRedis(): void {
  if (redisAnswers(6379)) return;
  try {
    execFileSync('bash', [servicesScript], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
  } catch (error) {
    throw new Error(`Redis at 127.0.0.1:6379 is down and scripts/services.sh could not start it`, { cause: error });
  }
  if (!redisAnswers(6379)) throw new Error('Redis at 127.0.0.1:6379 still does not answer after scripts/services.sh');
}

/** A namespace no other test run uses. */
export function uniqueNamespace(label: string): string {
  return `kairos-test:${label}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A private, throw-away redis-server (no persistence) that a test may stop, stall and restart. */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort());
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--enable-debug-command',
        'yes',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!redisAnswers(this.port)) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`private redis-server on ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL, as a crashed server. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  cli(...args: string[]): string {
    return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args], {
      encoding: 'utf8',
      timeout: 10_000,
    }).trim();
  }

  /** Runs a redis-cli command without waiting for it (e.g. DEBUG SLEEP). */
  cliAsync(...args: string[]): Promise<void> {
    const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args], { stdio: 'ignore' });
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }
}
