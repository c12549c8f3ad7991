import { createHmac, timingSafeEqual } from 'node:crypto';

/** `Kairos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` */
export const SIGNATURE_HEADER = 'kairos-signature';
/** The same value for every delivery (and redelivery) of one membership change. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const ATTEMPT_HEADER = 'kairos-delivery-attempt';

export function signatureOf(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
}

export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},v1=${signatureOf(secret, timestampSeconds, body)}`;
}

export interface VerifyOptions {
  readonly secret: string;
  /** The `Kairos-Signature` header value. */
  readonly header: string | undefined;
  /** The raw request body, exactly as received. */
  readonly body: string;
  /** Now, in Unix seconds. @default Date.now()/1000 */
  readonly nowSeconds?: number;
  /** Oldest accepted timestamp (replay protection). @default 300 */
  readonly toleranceSeconds?: number;
}

/** Verifies a webhook the way a receiver should: constant-time compare, bounded timestamp age. */
export function verifyWebhookSignature(options: VerifyOptions): boolean {
  const header = options.header ?? '';
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value !== undefined && /^\d+$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && value !== undefined) candidates.push(value);
  }
  if (timestamp === undefined || candidates.length === 0) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signatureOf(options.secret, timestamp, options.body), 'hex');
  return candidates.some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
