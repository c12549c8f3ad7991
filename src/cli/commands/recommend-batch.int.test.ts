import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { registerRecommendBatchCommand } from './recommend-batch.js';

const DATASETS = resolve(import.meta.dirname, '../../../../shared/datasets');
const dir = mkdtempSync(join(tmpdir(), 'kairos-batch-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

async function runBatch(args: string[]): Promise<void> {
  const program = new Command().exitOverride();
  registerRecommendBatchCommand(program);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['recommend-batch', ...args], { from: 'user' });
  } finally {
    stderr.mockRestore();
  }
}

interface Line {
  user: string;
  items: string[];
}

/** Seen pairs per user from (user, item) rows. */
function seenOf(rows: [string, string][]): Map<string, Set<string>> {
  const seen = new Map<string, Set<string>>();
  for (const [u, i] of rows) {
    if (!seen.has(u)) seen.set(u, new Set());
    seen.get(u)!.add(i);
  }
  return seen;
}

function check(outFile: string, seen: Map<string, Set<string>>, items: number, k: number): void {
  const lines = readFileSync(outFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  expect(lines.map((l) => l.user).sort()).toEqual([...seen.keys()].sort());
  for (const line of lines) {
    const s = seen.get(line.user)!;
    expect(line.items.length).toBe(Math.min(k, items - s.size));
    expect(new Set(line.items).size).toBe(line.items.length);
    for (const item of line.items) expect(s.has(item)).toBe(false);
  }
}

/** A small synthetic rating set: 30 users, 25 items, 2–12 ratings each. */
function synthetic(): [string, string, number, number][] {
  const rows: [string, string, number, number][] = [];
  for (let u = 1; u <= 30; u++) {
    for (let k = 0; k < 2 + (u % 11); k++)
      rows.push([`${u}`, `${(u * 3 + k * 7) % 25}`, 1 + ((u + k) % 5), 880000000 + u * 100 + k]);
  }
  return rows;
}

describe('kairos recommend-batch', () => {
  const rows = synthetic();
  const seen = seenOf(rows.map(([u, i]) => [u, i]));
  const items = new Set(rows.map(([, i]) => i)).size;

  it.each(['ease', 'sar', 'ials', 'itemknn', 'popularity'])(
    'ml100k format, model %s: k unseen items per user',
    async (model) => {
      const train = join(dir, 'u.data');
      writeFileSync(train, rows.map((r) => r.join('\t')).join('\n') + '\n');
      const out = join(dir, `out-${model}.jsonl`);
      await runBatch(['--train', train, '--format', 'ml100k', '--k', '5', '--out', out, '--model', model]);
      expect(process.exitCode ?? 0).toBe(0);
      check(out, seen, items, 5);
    },
  );

  it('csv format (header, CRLF): k unseen items per user', async () => {
    const train = join(dir, 'ratings.csv');
    writeFileSync(train, `userId,movieId,rating,timestamp\r\n${rows.map((r) => r.join(',')).join('\r\n')}\r\n`);
    const out = join(dir, 'out-csv.jsonl');
    await runBatch(['--train', train, '--format', 'csv', '--k', '20', '--out', out]);
    check(out, seen, items, 20);
  });

  it('fails with RECOMMEND_DATASET_NOT_FOUND for a missing file', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const program = new Command().exitOverride();
    registerRecommendBatchCommand(program);
    try {
      await program.parseAsync(['recommend-batch', '--train', join(dir, 'nope.data'), '--out', join(dir, 'x.jsonl')], {
        from: 'user',
      });
      expect(process.exitCode).toBe(1);
      expect(String(stderr.mock.calls.at(-1)?.[0])).toContain('RECOMMEND_DATASET_NOT_FOUND');
    } finally {
      stderr.mockRestore();
    }
  });

  it.skipIf(!existsSync(join(DATASETS, 'ml-100k/u.data')))(
    'real ml-100k u.data (skipped when the dataset is absent)',
    async () => {
      const train = join(DATASETS, 'ml-100k/u.data');
      const text = readFileSync(train, 'utf8').trim().split('\n');
      const realSeen = seenOf(text.map((l) => l.split('\t').slice(0, 2) as [string, string]));
      const out = join(dir, 'ml100k.jsonl');
      await runBatch(['--train', train, '--format', 'ml100k', '--k', '10', '--out', out, '--model', 'sar']);
      check(out, realSeen, 1682, 10);
    },
  );

  it.skipIf(!existsSync(join(DATASETS, 'ml-latest-small/ratings.csv')))(
    'real ml-latest-small ratings.csv (skipped when absent)',
    async () => {
      const train = join(DATASETS, 'ml-latest-small/ratings.csv');
      const text = readFileSync(train, 'utf8').trim().split('\n').slice(1);
      const realSeen = seenOf(text.map((l) => l.replace(/\r$/, '').split(',').slice(0, 2) as [string, string]));
      const out = join(dir, 'mls.jsonl');
      await runBatch(['--train', train, '--k', '10', '--out', out, '--model', 'itemknn']);
      check(out, realSeen, 9724, 10);
    },
  );
});
