import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import {
  loadRatingsFile,
  parseModelName,
  RATING_FORMATS,
  recommendBatch,
  RecommendErrors,
} from '../../recommend/index.js';
import type { RatingFormat } from '../../recommend/index.js';
import { parseModelOptions, parsePositiveInt, reportFailure } from './recommend-shared.js';

interface BatchFlags {
  train: string;
  format?: string;
  k: string;
  out: string;
  model: string;
  modelOptions?: string;
}

/** Guesses the format from the file name: `.csv` → csv, anything else (u.data…) → ml100k. */
function formatOf(flags: BatchFlags): RatingFormat {
  const format = flags.format ?? (flags.train.toLowerCase().endsWith('.csv') ? 'csv' : 'ml100k');
  if (!(RATING_FORMATS as readonly string[]).includes(format)) {
    throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', `--format must be ${RATING_FORMATS.join(' | ')}`, {
      details: { format },
    });
  }
  return format as RatingFormat;
}

/** `kairos recommend-batch`: train on a ratings file, write the top k unseen items per user as JSONL. */
export function registerRecommendBatchCommand(program: Command): Command {
  return program
    .command('recommend-batch')
    .description('Train a model on a ratings file and write top-k recommendations per user (JSON lines)')
    .requiredOption(
      '--train <file>',
      'training interactions (ml100k: user\\titem\\trating\\ttimestamp; csv: header userId,movieId|itemId,rating,timestamp)',
    )
    .option('--format <format>', `input format: ${RATING_FORMATS.join(' | ')} (default: by file extension)`)
    .option('--k <n>', 'items per user', '10')
    .requiredOption('--out <file>', 'output file (.jsonl)')
    .option('--model <name>', 'model: popularity | itemknn | sar | ials | ease', 'ease')
    .option('--model-options <json>', 'options of the model, e.g. {"lambda":500}')
    .action(async (flags: BatchFlags) => {
      try {
        const k = parsePositiveInt(flags.k, '--k');
        const model = parseModelName(flags.model);
        const modelOptions = flags.modelOptions
          ? (parseModelOptions(`{"${model}":${flags.modelOptions}}`)[model] ?? {})
          : {};
        const log = await loadRatingsFile(flags.train, formatOf(flags));
        const result = recommendBatch(log, { model, k, modelOptions });
        const out = createWriteStream(flags.out);
        for (const rec of result.recommendations) {
          if (!out.write(`${JSON.stringify({ user: rec.user, items: rec.items })}\n`)) await once(out, 'drain');
        }
        out.end();
        await once(out, 'finish');
        process.stderr.write(
          `kairos recommend-batch: ${model} trained in ${(result.trainMs / 1000).toFixed(2)} s; ${result.recommendations.length} users → ${flags.out}\n`,
        );
      } catch (err) {
        reportFailure('recommend-batch', err);
      }
    });
}
