import type { Command } from 'commander';
import { stopOnSignals } from '../signals.js';
import { startRoles, type DistributedOptions, type Role, type RunningRoles } from '../../engine/index.js';
import { createRecommendationExtension } from '../../recommend/index.js';

const DESCRIPTIONS: Readonly<Record<Role, string>> = {
  collector: 'Collect events (Segment-compatible HTTP) into the RabbitMQ log; relay forwarded events',
  worker: 'Process log partitions into Redis (partitions move between workers when one dies or joins)',
  api: 'Serve profiles, live segment changes (SSE) and the web apps from Redis',
  trainer: 'Train and serve recommendations (model artifacts in KAIROS_DATA_DIR)',
};

/**
 * Environment → options of a distributed role. The CLI is one of the two places that read process.env.
 * KAIROS_LOG_URL, KAIROS_STATE_URL and KAIROS_METADATA_URL are required; KAIROS_PARTITIONS and
 * KAIROS_NAMESPACE must be the same in every process of a deployment.
 */
export function distributedOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DistributedOptions {
  const int = (name: string) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
    return value;
  };
  const text = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const duration = (name: string) => {
    const raw = text(name);
    return raw === undefined ? undefined : /^\d+$/.test(raw) ? Number(raw) : raw;
  };
  const partitions = int('KAIROS_PARTITIONS');
  const port = int('PORT');
  const options: DistributedOptions = {
    logUrl: text('KAIROS_LOG_URL') ?? '',
    stateUrl: text('KAIROS_STATE_URL') ?? '',
    metadataUrl: text('KAIROS_METADATA_URL') ?? '',
    ...(text('KAIROS_NAMESPACE') !== undefined ? { namespace: text('KAIROS_NAMESPACE')! } : {}),
    ...(partitions !== undefined ? { partitions } : {}),
    ...(text('HOST') !== undefined ? { host: text('HOST')! } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(text('KAIROS_WRITE_KEY') !== undefined ? { writeKey: text('KAIROS_WRITE_KEY')! } : {}),
    ...(text('KAIROS_SECRET_KEY') !== undefined ? { secretKey: text('KAIROS_SECRET_KEY')! } : {}),
    ...(text('KAIROS_DATA_DIR') !== undefined ? { dataDir: text('KAIROS_DATA_DIR')! } : {}),
    ...(text('KAIROS_LOG_LEVEL') !== undefined ? { logLevel: text('KAIROS_LOG_LEVEL')! } : {}),
    ...(text('KAIROS_MEMBER_ID') !== undefined ? { memberId: text('KAIROS_MEMBER_ID')! } : {}),
    ...(duration('KAIROS_HEARTBEAT') !== undefined ? { heartbeat: duration('KAIROS_HEARTBEAT')! } : {}),
    ...(duration('KAIROS_MEMBER_TTL') !== undefined ? { memberTtl: duration('KAIROS_MEMBER_TTL')! } : {}),
  };
  return options;
}

function banner(running: RunningRoles): string {
  const u = running.url;
  const lines = [
    '',
    `Kairos ${running.roles.join(' + ')} is running (distributed mode, namespace ${running.namespace})`,
    '',
  ];
  if (running.roles.includes('collector')) lines.push(`  Collector   ${u}/v1/batch   (Segment-compatible)`);
  if (running.roles.includes('api')) lines.push(`  API         ${u}/v1/profiles/{userId}   Dashboard ${u}/dashboard/`);
  if (running.roles.includes('trainer')) lines.push(`  Recommend   ${u}/v1/recommendations`);
  if (running.memberId !== undefined) lines.push(`  Worker      member ${running.memberId}`);
  lines.push(`  Health      ${u}/healthz   Ready ${u}/readyz   Metrics ${u}/metrics`);
  if (running.keysGenerated) {
    lines.push('', `  Write key   ${running.writeKey}   (generated; stored in the metadata store for every process)`);
    lines.push(`  Secret key  ${running.secretKey}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Runs `roles` until SIGINT/SIGTERM (then releases partitions and leaves the membership). */
async function runRoles(roles: readonly Role[], flags: { port?: string; host?: string }): Promise<void> {
  const options: DistributedOptions = {
    ...distributedOptionsFromEnv(),
    ...(flags.port !== undefined ? { port: Number(flags.port) } : {}),
    ...(flags.host !== undefined ? { host: flags.host } : {}),
    ...(roles.includes('trainer') ? { extensions: [createRecommendationExtension()] } : {}),
  };
  const running = await startRoles(roles, options);
  process.stdout.write(banner(running) + '\n');
  stopOnSignals(running);
}

/** `kairos collector|worker|api|trainer`: one role of the distributed topology per process. */
export function registerRoleCommands(program: Command): void {
  for (const role of ['collector', 'worker', 'api', 'trainer'] as const) {
    program
      .command(role)
      .description(
        `${DESCRIPTIONS[role]} (distributed mode: needs KAIROS_LOG_URL, KAIROS_STATE_URL, KAIROS_METADATA_URL)`,
      )
      .option('--port <port>', 'HTTP port (env PORT, default 8080)')
      .option('--host <host>', 'HTTP host (env HOST, default 127.0.0.1)')
      .option('--with <roles>', 'also run these roles in this process, comma-separated (e.g. --with worker,api)')
      .action(async (flags: { port?: string; host?: string; with?: string }) => {
        const extra = (flags.with ?? '')
          .split(',')
          .map((r) => r.trim())
          .filter((r) => r !== '');
        for (const r of extra) {
          if (!(r in DESCRIPTIONS))
            throw new Error(`unknown role ${JSON.stringify(r)} in --with (collector, worker, api, trainer)`);
        }
        await runRoles([role, ...(extra as Role[])], flags);
      });
  }
}
