// Test support (used by the PostgreSQL adapter's conformance and integration tests, not by the engine).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
const servicesScript = fileURLToPath(new URL('../../../scripts/services.sh', import.meta.url));

function postgresAnswers(): boolean {
  try {
    execFileSync('pg_isready', ['-h', '127.0.0.1', '-p', '5432'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Makes sure the test PostgreSQL runs (starting the local services when it does not); throws loudly otherwise. */
export function ensurePostgres(): void {
  if (postgresAnswers()) return;
  try {
    execFileSync('bash', [servicesScript], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
  } catch (error) {
    throw new Error('PostgreSQL at 127.0.0.1:5432 is down and scripts/services.sh could not start it', {
      cause: error,
    });
  }
  if (!postgresAnswers())
    throw new Error('PostgreSQL at 127.0.0.1:5432 still does not answer after scripts/services.sh');
}

/** A schema name no other test run uses (lower case: unquoted SQL in psql finds it too). */
export function uniqueSchema(label: string): string {
  return `kairos_test_${label}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`.slice(
    0,
    63,
  );
}
