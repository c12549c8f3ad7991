/**
 * The SDK's error codes. The SDK runs in browsers and imports nothing from the engine, so it has its
 * own small error class with the same shape as the engine's KairosError (`code`, `status`,
 * `retryable`, `cause`); callers branch on `code`.
 *
 * Thrown: SDK_INVALID_OPTIONS, SDK_NOT_LOADED, SDK_NETWORK_ERROR, SDK_RECOMMENDATIONS_FAILED.
 * Reported through `onDrop(messages, code)` (messages the SDK gives up on): SDK_MESSAGE_TOO_LARGE,
 * SDK_QUEUE_FULL, SDK_CONSENT_DENIED, SDK_BATCH_REJECTED, SDK_MESSAGE_REJECTED.
 */
export type SdkErrorCode =
  'SDK_INVALID_OPTIONS' | 'SDK_NOT_LOADED' | 'SDK_NETWORK_ERROR' | 'SDK_RECOMMENDATIONS_FAILED' | SdkDropCode;

export type SdkDropCode =
  'SDK_MESSAGE_TOO_LARGE' | 'SDK_QUEUE_FULL' | 'SDK_CONSENT_DENIED' | 'SDK_BATCH_REJECTED' | 'SDK_MESSAGE_REJECTED';

export class KairosSdkError extends Error {
  constructor(
    readonly code: SdkErrorCode,
    message: string,
    /** HTTP status of the answer that caused the error, when there was one. */
    readonly status?: number,
    /** True when the same call may succeed later (network error, 429, 5xx). */
    readonly retryable = false,
    cause?: unknown,
  ) {
    super(message, { cause });
    // Assigned, not a class field: a field would pull esbuild's define-property helper into the bundle.
    this.name = 'KairosSdkError';
  }
}

export function isKairosSdkError(err: unknown, code?: SdkErrorCode): err is KairosSdkError {
  return err instanceof KairosSdkError && (code === undefined || err.code === code);
}
