import type { Command } from 'commander';
import {
  DEFAULT_EVAL_MODELS,
  DEFAULT_PREQUENTIAL_MODELS,
  evaluateOffline,
  isDatasetName,
  isProtocol,
  loadDataset,
  PROTOCOLS,
  RecommendErrors,
  runPrequential,
  DATASET_NAMES,
} from '../../recommend/index.js';
import type { OfflineEvalReport, PrequentialReport, Protocol } from '../../recommend/index.js';
import {
  createProgress,
  defaultDatasetsDir,
  parseModelList,
  parseModelOptions,
  parseNonNegativeInt,
  parsePositiveInt,
  reportFailure,
} from './recommend-shared.js';

interface EvalFlags {
  dataset: string;
  dataDir?: string;
  protocol: string;
  k: string;
  models?: string;
  json?: boolean;
  validation?: boolean;
  seed?: string;
  retrainEvery?: string;
  sessionWeight?: string;
  modelOptions?: string;
}

const PROTOCOL_TEXT: Record<Protocol, string> = {
  msr: 'per-user stratified 75/25 random split, seed 42 (MS Recommenders python_stratified_split)',
  temporal: 'global time split, last 20% of interactions are test, test users seen in train',
  prequential: 'prequential replay in time order, HR@k before each event is revealed',
};

/** `kairos eval`: offline evaluation of the recommendation models (DESIGN.md §7). */
export function registerEvalCommand(program: Command): Command {
  return program
    .command('eval')
    .description('Evaluate the recommendation models offline on a MovieLens dataset')
    .option('--dataset <name>', `dataset: ${DATASET_NAMES.join(' | ')}`, 'ml-100k')
    .option('--data-dir <dir>', 'folder holding the datasets (default: ../shared/datasets next to the repo)')
    .option('--protocol <protocol>', `evaluation protocol: ${PROTOCOLS.join(' | ')}`, 'msr')
    .option('--k <n>', 'cut-off of the ranking metrics', '10')
    .option('--models <list>', 'comma-separated models (popularity,itemknn,sar,ials,ease)')
    .option('--json', 'print the report as JSON')
    .option('--validation', 'score a validation split carved out of the training side (for tuning; never test)')
    .option('--seed <n>', 'seed of the msr split', '42')
    .option('--retrain-every <n>', 'prequential: events between retrainings', '10000')
    .option('--session-weight <x>', 'prequential: weight multiplier of session items in the fold-in', '1')
    .option('--model-options <json>', 'per-model option overrides, e.g. {"ease":{"lambda":500}}')
    .action(async (flags: EvalFlags) => {
      const progress = createProgress();
      try {
        if (!isDatasetName(flags.dataset)) {
          throw RecommendErrors.create('RECOMMEND_UNKNOWN_DATASET', `Unknown dataset ${flags.dataset}`, {
            details: { dataset: flags.dataset, known: DATASET_NAMES },
          });
        }
        if (!isProtocol(flags.protocol)) {
          throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', `Unknown protocol ${flags.protocol}`, {
            details: { protocol: flags.protocol, known: PROTOCOLS },
          });
        }
        const k = parsePositiveInt(flags.k, '--k');
        const dataDir = flags.dataDir ?? defaultDatasetsDir();
        const modelOptions = parseModelOptions(flags.modelOptions);
        const log = await loadDataset(flags.dataset, dataDir);
        if (flags.protocol === 'prequential') {
          const sessionWeight = Number(flags.sessionWeight ?? '1');
          if (!Number.isFinite(sessionWeight) || sessionWeight < 0) {
            throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', '--session-weight must be a number ≥ 0');
          }
          const report = runPrequential(log, {
            models: flags.models ? parseModelList(flags.models) : DEFAULT_PREQUENTIAL_MODELS,
            modelOptions,
            k,
            retrainEvery: parsePositiveInt(flags.retrainEvery ?? '10000', '--retrain-every'),
            sessionWeight,
            onProgress: progress.listener,
          });
          progress.stop();
          process.stdout.write(
            flags.json
              ? `${JSON.stringify({ dataset: flags.dataset, protocol: 'prequential', ...report }, null, 2)}\n`
              : formatPrequential(flags.dataset, report),
          );
          return;
        }
        const report = evaluateOffline(log, {
          protocol: flags.protocol,
          k,
          models: flags.models ? parseModelList(flags.models) : DEFAULT_EVAL_MODELS,
          modelOptions,
          seed: parseNonNegativeInt(flags.seed ?? '42', '--seed'),
          validation: flags.validation === true,
          onProgress: progress.listener,
        });
        progress.stop();
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ dataset: flags.dataset, ...report }, null, 2)}\n`
            : formatOffline(flags.dataset, report),
        );
      } catch (err) {
        progress.stop();
        reportFailure('eval', err);
      }
    });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const f4 = (x: number): string => x.toFixed(4);

export function formatOffline(dataset: string, r: OfflineEvalReport): string {
  const k = r.k;
  const head = [
    `kairos eval: ${dataset}, protocol ${r.protocol}${r.validation ? ' (VALIDATION split carved out of train)' : ''}`,
    `  ${PROTOCOL_TEXT[r.protocol]}`,
    `  train ${r.trainRows} rows, test ${r.testRows} rows, ${r.users} test users, ${r.items} train items, k=${k}`,
    '',
  ];
  const rows = r.results.map((m) => [
    m.model,
    f4(m.precision),
    f4(m.recall),
    f4(m.ndcg),
    f4(m.map),
    f4(m.mapAtK),
    f4(m.coverage),
    `${(m.trainMs / 1000).toFixed(2)} s`,
  ]);
  const body = table(['model', `P@${k}`, `R@${k}`, `nDCG@${k}`, 'MAP', `MAP@${k}`, 'coverage', 'train'], rows);
  return `${head.join('\n')}\n${body}\n\nMAP = MS Recommenders \`map\` (the README's MAP, normalised by all relevant items); MAP@${k} = their \`map_at_k\`.\n`;
}

export function formatPrequential(dataset: string, r: PrequentialReport): string {
  const head = [
    `kairos eval: ${dataset}, protocol prequential`,
    `  ${PROTOCOL_TEXT.prequential}; retrain every ${r.retrainEvery} events; session weight ${r.sessionWeight}`,
    `  (a) periodic retraining only; (b) the same model + the user's interactions since the retrain folded in`,
    '',
  ];
  const rows = r.results.map((m) => [
    m.model,
    String(m.events),
    f4(m.hitRatePeriodic),
    f4(m.hitRateSession),
    m.hitRatePeriodic > 0 ? `${((m.hitRateSession / m.hitRatePeriodic - 1) * 100).toFixed(1)}%` : 'n/a',
    String(m.retrains),
    `${(m.trainMs / 1000).toFixed(1)} s`,
  ]);
  return `${head.join('\n')}\n${table(['model', 'events', `(a) HR@${r.k}`, `(b) HR@${r.k}`, 'b vs a', 'retrains', 'train total'], rows)}\n`;
}
