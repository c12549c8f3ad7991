import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import {
  DATASET_FORMATS,
  detectFormat,
  readDataset,
  readPasses,
  replayToServer,
  type DatasetFormat,
} from '../../datasets/index.js';

interface ReplayFlags {
  url: string;
  writeKey?: string;
  format?: DatasetFormat;
  rate: string;
  batchSize: string;
  concurrency: string;
  limit?: string;
  passes: string;
  shiftToNow?: boolean;
  stampNow?: boolean;
  gzip?: boolean;
  json?: boolean;
}

/** `kairos replay FILE`: streams a dataset through the collection path of a running server. */
export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'Replay a dataset (Segment NDJSON, Taobao CSV, ML-100k u.data, MovieLens ratings.csv) into a running Kairos',
    )
    .argument('<file>', 'dataset file (read in place; never copied)')
    .option('--url <url>', 'collector base URL', 'http://127.0.0.1:8080')
    .option('--write-key <key>', 'write key (env KAIROS_WRITE_KEY)')
    .option('--format <format>', `one of ${DATASET_FORMATS.join(', ')} (default: from the file name)`)
    .option('--rate <eventsPerSecond>', 'events per second, 0 = unlimited', '0')
    .option('--batch-size <n>', 'messages per request', '100')
    .option('--concurrency <n>', 'requests in flight', '4')
    .option('--limit <n>', 'stop after n messages')
    .option(
      '--passes <n>',
      'replay the file n times; later passes get new messageIds (~2, ~3…): sustained load tests',
      '1',
    )
    .option('--shift-to-now', 'move timestamps so the first event happens now (keeps spacing)')
    .option('--stamp-now', 'stamp every event with the time it is sent (load tests: event time follows the wall clock)')
    .option('--gzip', 'gzip request bodies')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, flags: ReplayFlags) => {
      if (!existsSync(file)) throw new Error(`no such file: ${file}`);
      const writeKey = flags.writeKey ?? process.env.KAIROS_WRITE_KEY;
      if (!writeKey)
        throw new Error('a write key is needed: --write-key or KAIROS_WRITE_KEY (printed by `kairos start`)');
      const format = flags.format ?? detectFormat(file);
      const stats = { lines: 0, skipped: 0 };
      const startedAt = performance.now();
      const bar = process.stderr.isTTY
        ? new SingleBar({ format: 'replay |{bar}| {value} events  {rate} ev/s  rejected {rejected}', hideCursor: true })
        : undefined;
      bar?.start(flags.limit ? Number(flags.limit) : 0, 0, { rate: 0, rejected: 0 });
      const passes = Number(flags.passes);
      if (!Number.isInteger(passes) || passes < 1) throw new Error('--passes must be a whole number ≥ 1');
      const summary = await replayToServer(
        readPasses(() => readDataset(file, format, stats), passes),
        {
          url: flags.url,
          writeKey,
          ratePerSecond: Number(flags.rate),
          batchSize: Number(flags.batchSize),
          concurrency: Number(flags.concurrency),
          ...(flags.limit !== undefined ? { limit: Number(flags.limit) } : {}),
          ...(flags.shiftToNow ? { shiftToMs: Date.now() } : {}),
          ...(flags.stampNow ? { stampNow: true } : {}),
          ...(flags.gzip ? { gzip: true } : {}),
          onProgress: (s) => {
            if (!bar) return;
            if (!flags.limit) bar.setTotal(Math.max(s.accepted + s.rejected, 1));
            bar.update(s.accepted + s.rejected, {
              rate: Math.round(s.accepted / ((performance.now() - startedAt) / 1000)),
              rejected: s.rejected,
            });
          },
        },
      );
      bar?.stop();
      const result = { file, format, linesRead: stats.lines, linesSkipped: stats.skipped, ...summary };
      if (flags.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
      } else {
        process.stdout.write(
          [
            `replayed ${summary.messages} messages from ${file} (${format}) in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
            `  accepted  ${summary.accepted}  (${Math.round(summary.eventsPerSecond)} events/s)`,
            `  rejected  ${summary.rejected}${summary.rejected ? `  ${JSON.stringify(summary.rejectedByCode)}` : ''}`,
            `  retries   ${summary.retries}   failed batches ${summary.failedBatches}   unparseable lines ${stats.skipped}`,
            '',
          ].join('\n'),
        );
      }
      if (summary.failedBatches > 0) process.exitCode = 1;
    });
}
