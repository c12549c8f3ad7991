import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerEvalCommand } from './eval.js';

const DATASETS = resolve(import.meta.dirname, '../../../../shared/datasets');
const HAS_ML100K = existsSync(resolve(DATASETS, 'ml-100k/u.data'));
const MODELS = ['popularity', 'itemknn', 'sar', 'ials', 'ease'];

/** Runs `kairos eval …` in-process and returns what it printed on stdout. */
async function runEval(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerEvalCommand(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  try {
    await program.parseAsync(['eval', ...args], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return out;
}

afterEach(() => {
  process.exitCode = undefined;
});

describe.skipIf(!HAS_ML100K)(`kairos eval on ML-100k (needs ${DATASETS}/ml-100k/u.data)`, () => {
  it('prints a table with every model and sane metrics (msr protocol)', async () => {
    const out = await runEval(['--dataset', 'ml-100k', '--data-dir', DATASETS, '--protocol', 'msr', '--k', '10']);
    expect(process.exitCode ?? 0).toBe(0);
    expect(out).toMatch(/P@10\s+R@10\s+nDCG@10\s+MAP\s+MAP@10\s+coverage\s+train/);
    const rows = new Map<string, number[]>();
    for (const line of out.split('\n')) {
      const cells = line.trim().split(/\s+/);
      if (MODELS.includes(cells[0]!)) rows.set(cells[0]!, cells.slice(1, 7).map(Number));
    }
    expect([...rows.keys()].sort()).toEqual([...MODELS].sort());
    for (const [model, [p, r, ndcg, map, mapAtK, coverage]] of rows) {
      for (const v of [p, r, ndcg, map, mapAtK, coverage]) expect(v, model).toBeGreaterThan(0);
      for (const v of [p, r, ndcg, map, mapAtK, coverage]) expect(v, model).toBeLessThanOrEqual(1);
    }
    // Published reference points on this protocol: popularity well below SAR (0.38), SAR below EASE.
    const ndcg = (m: string): number => rows.get(m)![2]!;
    expect(ndcg('popularity')).toBeLessThan(ndcg('sar'));
    expect(ndcg('sar')).toBeGreaterThan(0.35);
    expect(ndcg('sar')).toBeLessThan(ndcg('ease'));
    expect(Math.max(ndcg('ease'), ndcg('ials'))).toBeGreaterThan(0.45);
  });

  it('prints JSON with --json and scores a validation split with --validation', async () => {
    const out = await runEval(['--data-dir', DATASETS, '--models', 'popularity,sar', '--json', '--validation']);
    const report = JSON.parse(out) as {
      validation: boolean;
      k: number;
      results: { model: string; ndcg: number; trainMs: number }[];
      trainRows: number;
      testRows: number;
    };
    expect(report.validation).toBe(true);
    expect(report.k).toBe(10);
    // Validation = 75/25 of the 75% training side: no test row is used.
    expect(report.trainRows + report.testRows).toBeLessThan(75_000);
    expect(report.results.map((r) => r.model)).toEqual(['popularity', 'sar']);
    for (const r of report.results) expect(r.trainMs).toBeGreaterThanOrEqual(0);
  });

  it('prequential replay: session fold-in beats periodic-only retraining on HR@10', async () => {
    const out = await runEval([
      '--data-dir',
      DATASETS,
      '--protocol',
      'prequential',
      '--models',
      'sar',
      '--retrain-every',
      '25000',
      '--json',
    ]);
    const report = JSON.parse(out) as {
      results: { model: string; events: number; hitRatePeriodic: number; hitRateSession: number }[];
    };
    const sar = report.results[0]!;
    expect(sar.events).toBe(75_000);
    expect(sar.hitRatePeriodic).toBeGreaterThan(0);
    expect(sar.hitRateSession).toBeGreaterThan(sar.hitRatePeriodic);
  });

  it('fails with a code for an unknown model or dataset', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await runEval(['--data-dir', DATASETS, '--models', 'bpr']);
      expect(process.exitCode).toBe(1);
      expect(String(stderr.mock.calls.at(-1)?.[0])).toContain('RECOMMEND_UNKNOWN_MODEL');
      process.exitCode = undefined;
      await runEval(['--dataset', 'netflix']);
      expect(String(stderr.mock.calls.at(-1)?.[0])).toContain('RECOMMEND_UNKNOWN_DATASET');
    } finally {
      stderr.mockRestore();
    }
  });
});
