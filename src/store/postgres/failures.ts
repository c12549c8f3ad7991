import { isKairosError } from '../../core/index.js';
import { StoreErrors } from '../errors.js';

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/**
 * SQLSTATEs meaning "the server cannot serve now": class 08 (connection exception), 53 (insufficient
 * resources: too many connections, disk full, out of memory), 57P01-03 (shutdown, crash recovery,
 * cannot connect now), 57014 (statement timeout / cancel).
 */
const TRANSIENT_STATE = /^(08...|53...|57P0[1-3]|57014)$/;
/** Wrong credentials or database: configuration, not an outage. */
const CONFIG_STATE = /^(28...|3D000)$/;
const CLIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection terminated unexpectedly/;

/**
 * Maps a failed PostgreSQL operation to STORE_UNAVAILABLE (retryable) when the server cannot be reached
 * or cannot serve now, STORE_INVALID_OPTIONS when the credentials or database are wrong; any other error
 * (a bug, a constraint) passes through untouched.
 */
export function toStoreError(error: unknown, operation: string): unknown {
  if (isKairosError(error) || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const reason = error.message;
  if (typeof code === 'string' && CONFIG_STATE.test(code)) {
    return StoreErrors.create('STORE_INVALID_OPTIONS', `PostgreSQL ${operation} failed: ${reason}`, {
      cause: error,
      details: { field: 'url', operation, sqlState: code },
    });
  }
  const transient =
    (typeof code === 'string' && (SOCKET_CODES.has(code) || TRANSIENT_STATE.test(code))) ||
    CLIENT_MESSAGES.test(reason) ||
    (error instanceof AggregateError &&
      error.errors.some((e) => SOCKET_CODES.has((e as { code?: string }).code ?? '')));
  if (!transient) return error;
  return StoreErrors.create('STORE_UNAVAILABLE', `PostgreSQL ${operation} failed: ${reason}`, {
    cause: error,
    details: { operation, ...(typeof code === 'string' ? { sqlState: code } : {}) },
  });
}
