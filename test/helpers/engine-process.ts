import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_MAIN = join(ROOT, 'src', 'main.ts');
const BUILT_MAIN = join(ROOT, 'dist', 'main.js');

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtimeMs(path));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The command that runs `kairos`: the compiled build when it is at least as new as every source file
 * (`npm test` builds first; it starts in a fraction of the time), else the sources through tsx.
 */
export function kairosCommand(): string[] {
  if (existsSync(BUILT_MAIN) && statSync(BUILT_MAIN).mtimeMs >= newestMtimeMs(join(ROOT, 'src'))) return [BUILT_MAIN];
  return ['--import', 'tsx', SOURCE_MAIN];
}

/** Polls `probe` every 50 ms until it holds; rejects after `timeoutMs`. */
export async function until(probe: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Segment messages for `users` visitors: each views one product 4 times, a second apart from `at`
 * (enters high-intent), then every visitor opens a page 20 minutes later (the watermark passes the
 * 10-minute window: exits by timer). Users are `<user>-<u>`; message ids `<id>v-<u>-<k>` and `<id>p-<u>`.
 */
export function fourViewsThenReturn(options: {
  users: number;
  user: string;
  id: string;
  at: number;
  properties?: (u: number) => Record<string, unknown>;
}): Record<string, unknown>[] {
  const { users, user, id, at } = options;
  const batch: Record<string, unknown>[] = [];
  for (let u = 0; u < users; u++) {
    for (let k = 0; k < 4; k++) {
      batch.push({
        type: 'track',
        userId: `${user}-${u}`,
        event: 'Product Viewed',
        messageId: `${id}v-${u}-${k}`,
        properties: { product_id: `sku-${u}`, ...options.properties?.(u) },
        timestamp: new Date(at + k * 1_000).toISOString(),
      });
    }
  }
  for (let u = 0; u < users; u++) {
    batch.push({
      type: 'page',
      userId: `${user}-${u}`,
      name: 'Home',
      messageId: `${id}p-${u}`,
      timestamp: new Date(at + 20 * 60_000).toISOString(),
    });
  }
  return batch;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; we reuse it across restarts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface EngineProcessOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly writeKey: string;
  readonly secretKey: string;
  readonly env?: Record<string, string>;
}

/**
 * `kairos start` as a real child process (from the TypeScript sources, through tsx), so tests can
 * `kill -9` it and start it again over the same data directory.
 */
export class EngineProcess {
  private child: ChildProcess | undefined;
  private output = '';
  readonly url: string;

  constructor(private readonly options: EngineProcessOptions) {
    this.url = `http://127.0.0.1:${options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get log(): string {
    return this.output;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const child = spawn(process.execPath, [...kairosCommand(), 'start'], {
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(this.options.port),
        KAIROS_DATA_DIR: this.options.dataDir,
        KAIROS_WRITE_KEY: this.options.writeKey,
        KAIROS_SECRET_KEY: this.options.secretKey,
        KAIROS_LOG_LEVEL: 'warn',
        ...this.options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`engine exited with ${child.exitCode}:\n${this.output}`);
      try {
        const response = await fetch(`${this.url}/readyz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`engine did not become ready within ${timeoutMs} ms:\n${this.output}`);
  }

  /** POST /v1/batch with the write key (Basic auth). */
  postBatch(batch: readonly Record<string, unknown>[]): Promise<Response> {
    return fetch(`${this.url}/v1/batch`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${this.options.writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ batch }),
    });
  }

  /** SIGKILL: no shutdown hook runs, exactly like a crash. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /** Waits until every partition's stream position has reached the durable log end. */
  async waitCaughtUp(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const body = (await (await fetch(`${this.url}/readyz`)).json()) as {
        partitions: { lag: number | null; logEnd: number }[];
      };
      last = JSON.stringify(body.partitions);
      if (body.partitions.every((p) => p.lag === 0 || (p.lag === null && p.logEnd === 0))) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`stream did not catch up: ${last}`);
  }
}
