import type { Command } from 'commander';
import { stopOnSignals } from '../signals.js';
import { startEngine, type RunningEngine } from '../../engine/index.js';
import { createRecommendationExtension } from '../../recommend/index.js';
import { EXAMPLE_SEGMENTS } from '../../segments/index.js';

/** Environment → engine options. The CLI is one of the two places that read process.env. */
export function engineOptionsFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const int = (name: string) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
    return value;
  };
  return {
    ...(env.HOST ? { host: env.HOST } : {}),
    ...(int('PORT') !== undefined ? { port: int('PORT')! } : {}),
    ...(env.KAIROS_DATA_DIR ? { dataDir: env.KAIROS_DATA_DIR } : {}),
    ...(env.KAIROS_WRITE_KEY ? { writeKey: env.KAIROS_WRITE_KEY } : {}),
    ...(env.KAIROS_SECRET_KEY ? { secretKey: env.KAIROS_SECRET_KEY } : {}),
    ...(int('KAIROS_PARTITIONS') !== undefined ? { partitions: int('KAIROS_PARTITIONS')! } : {}),
    ...(int('KAIROS_STREAM_WORKERS') !== undefined ? { streamWorkers: int('KAIROS_STREAM_WORKERS')! } : {}),
    ...(env.KAIROS_LOG_LEVEL ? { logLevel: env.KAIROS_LOG_LEVEL } : {}),
    ...(int('KAIROS_STATE_FLUSH_MS') !== undefined ? { stateFlushIntervalMs: int('KAIROS_STATE_FLUSH_MS')! } : {}),
    recommend: env.KAIROS_RECOMMEND !== 'off',
  };
}

/** What `kairos start` runs beside the core: recommendations, and the DESIGN.md §6 segments on a first start. */
export function embeddedCapabilities(options: { recommend?: boolean } = {}) {
  return {
    extensions: options.recommend === false ? [] : [createRecommendationExtension()],
    segments: { seed: EXAMPLE_SEGMENTS },
  };
}

export function banner(engine: RunningEngine): string {
  const u = engine.url;
  return [
    '',
    'Kairos is running (embedded mode)',
    '',
    `  Collector   ${u}/v1/batch   (Segment-compatible: point any Segment SDK's host here)`,
    `  API         ${u}/v1/profiles/{userId}, ${u}/v1/recommendations`,
    `  Demo store  ${u}/store/`,
    `  Dashboard   ${u}/dashboard/`,
    `  API docs    ${u}/docs`,
    `  Health      ${u}/healthz   Metrics ${u}/metrics`,
    '',
    `  Write key   ${engine.writeKey}   (public: browsers and SDKs)`,
    `  Secret key  ${engine.secretKey}   (server-side and admin: keep it secret)`,
    `  Data dir    ${engine.dataDir}${engine.keysGenerated ? '   (keys generated and stored here: keys.json)' : ''}`,
    '',
    `  Try it:     curl -u ${engine.writeKey}: ${u}/v1/track -d '{"userId":"u1","event":"Product Viewed","properties":{"product_id":"p1"}}'`,
    `              curl -H 'authorization: Bearer ${engine.secretKey}' ${u}/v1/profiles/u1`,
    '',
  ].join('\n');
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('Run the whole engine in one process (collector, log, stream, stores, API)')
    .option('--port <port>', 'HTTP port (env PORT, default 8080)')
    .option('--host <host>', 'HTTP host (env HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'data directory (env KAIROS_DATA_DIR, default ./data)')
    .action(async (flags: { port?: string; host?: string; dataDir?: string }) => {
      const { recommend, ...fromEnv } = engineOptionsFromEnv();
      const options = {
        ...fromEnv,
        ...(flags.port !== undefined ? { port: Number(flags.port) } : {}),
        ...(flags.host !== undefined ? { host: flags.host } : {}),
        ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
        ...embeddedCapabilities({ recommend }),
      };
      const engine = await startEngine(options);
      process.stdout.write(banner(engine) + '\n');
      stopOnSignals(engine);
    });
}
