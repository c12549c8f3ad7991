import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SingleBar } from 'cli-progress';
import { isKairosError } from '../../core/index.js';
import { parseModelName, RecommendErrors } from '../../recommend/index.js';
import type { ModelName, ProgressListener } from '../../recommend/index.js';

/**
 * The datasets folder: `KAIROS_DATASETS_DIR`, else `../shared/datasets` next to the repository
 * (the folder holding package.json above this file). Datasets are never copied into the repo.
 */
export function defaultDatasetsDir(): string {
  const fromEnv = process.env.KAIROS_DATASETS_DIR;
  if (fromEnv) return fromEnv;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 8; up++) {
    if (existsSync(resolve(dir, 'package.json'))) return resolve(dir, '../shared/datasets');
    dir = resolve(dir, '..');
  }
  return resolve(process.cwd(), '../shared/datasets');
}

export function parseModelList(value: string): ModelName[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseModelName);
  if (names.length === 0) {
    throw RecommendErrors.create('RECOMMEND_UNKNOWN_MODEL', 'no model named');
  }
  return [...new Set(names)];
}

export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', `${flag} must be a positive integer (got ${value})`, {
      details: { flag, value },
    });
  }
  return n;
}

export function parseNonNegativeInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', `${flag} must be an integer ≥ 0 (got ${value})`, {
      details: { flag, value },
    });
  }
  return n;
}

/** `{"ease":{"lambda":300}}` → per-model overrides. */
export function parseModelOptions(value: string | undefined): Partial<Record<ModelName, Record<string, unknown>>> {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', '--model-options must be JSON', { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', '--model-options must be a JSON object keyed by model');
  }
  const out: Partial<Record<ModelName, Record<string, unknown>>> = {};
  for (const [key, options] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof options !== 'object' || options === null) {
      throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', `--model-options.${key} must be an object`);
    }
    out[parseModelName(key)] = options as Record<string, unknown>;
  }
  return out;
}

/**
 * A progress listener drawing one bar per phase on stderr, or nothing when stderr is not a
 * terminal (CI logs and pipes stay clean).
 */
export function createProgress(): { listener: ProgressListener | undefined; stop: () => void } {
  if (!process.stderr.isTTY) return { listener: undefined, stop: () => undefined };
  let bar: SingleBar | undefined;
  let total = -1;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
    total = -1;
  };
  // One bar per total: phases that share a total (the models of an eval) relabel the same bar.
  const listener: ProgressListener = ({ phase, done, total: next }) => {
    if (phase === 'done') {
      bar?.update(next, { phase: 'done'.padEnd(30) });
      stop();
      return;
    }
    if (bar === undefined || next !== total) {
      stop();
      total = next;
      bar = new SingleBar({
        format: '{phase} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}',
        stream: process.stderr,
        hideCursor: null,
      });
      bar.start(next, done, { phase: phase.padEnd(30) });
      return;
    }
    bar.update(done, { phase: phase.padEnd(30) });
  };
  return { listener, stop };
}

/** Prints a KairosError as `kairos <command>: CODE message` and sets a failing exit code. */
export function reportFailure(command: string, err: unknown): void {
  if (isKairosError(err)) {
    process.stderr.write(`kairos ${command}: ${err.code}: ${err.message}\n`);
  } else {
    process.stderr.write(`kairos ${command}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exitCode = 1;
}
