import { isKairosError } from '../../core/index.js';
import { StoreErrors } from '../errors.js';

/** Redis error replies that mean "not now" (the server is loading, busy, read-only, out of memory, …). */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|OOM|NOREPLICAS|MISCONF|NOTBUSY)\b/;
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

export const FAILURE_KINDS = ['not-sent', 'no-reply', 'refused'] as const;
/**
 * How a command failed: `not-sent` (no connection: it never reached Redis), `no-reply` (it was sent but
 * the reply never came — it may or may not have run), `refused` (Redis answered with an error, it did
 * not run).
 */
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** Classifies an ioredis failure; undefined when it is not a connection/availability problem. */
export function classifyRedisFailure(error: unknown): FailureKind | undefined {
  if (!(error instanceof Error)) return undefined;
  const message = error.message;
  if (message.includes("Stream isn't writeable") || message.includes('enableOfflineQueue')) return 'not-sent';
  if (message.includes('Command timed out') || message.includes('Connection is closed')) return 'no-reply';
  if (error.name === 'MaxRetriesPerRequestError') return 'no-reply';
  if (error.name === 'ReplyError' && TRANSIENT_REPLY.test(message)) return 'refused';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return 'not-sent';
  return undefined;
}

/**
 * Maps a failed Redis operation to STORE_UNAVAILABLE (retryable) when Redis could not be reached or
 * refused for a transient reason; other errors pass through untouched. `details.ambiguous` is true for a
 * write whose reply was lost: it may have been applied (a commit's caller must re-acquire and reload,
 * never blindly resend it).
 */
export function toStoreError(error: unknown, operation: string, write: boolean): unknown {
  if (isKairosError(error)) return error;
  const kind = classifyRedisFailure(error);
  if (kind === undefined) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return StoreErrors.create('STORE_UNAVAILABLE', `Redis ${operation} failed: ${reason}`, {
    cause: error,
    details: { operation, failure: kind, ambiguous: write && kind === 'no-reply' },
  });
}
