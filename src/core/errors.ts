/**
 * One error shape for the whole engine. Every failure that crosses a module boundary is a
 * KairosError with a stable string `code` from a capability's registry; callers branch on `code`,
 * never on message text. The HTTP layer maps `status` and renders `{error:{code,message,details?}}`.
 */
export interface KairosErrorOptions {
  /** HTTP status the serve layer answers with. @default 500 */
  status?: number;
  /** True when the same request may succeed later (backpressure, a broker outage). @default false */
  retryable?: boolean;
  cause?: unknown;
  /** Structured, safe-to-show context (a JSON pointer, a limit, an index). */
  details?: Readonly<Record<string, unknown>>;
}

export class KairosError<C extends string = string> extends Error {
  override readonly name = 'KairosError';
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    readonly code: C,
    message: string,
    opts: KairosErrorOptions = {},
  ) {
    super(message, { cause: opts.cause });
    this.status = opts.status ?? 500;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }
}

export function isKairosError(err: unknown, code?: string): err is KairosError {
  return err instanceof KairosError && (code === undefined || err.code === code);
}

/** The registered facts about one code; docs/errors.md mirrors these (a test keeps them in sync). */
export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
  readonly retryable?: boolean;
}

export interface ErrorRegistry<C extends string> {
  readonly capability: string;
  readonly specs: Readonly<Record<C, ErrorSpec>>;
  /** Builds the error for `code` with its registered status/retryable; `message` overrides the default text. */
  create(code: C, message?: string, opts?: Omit<KairosErrorOptions, 'status' | 'retryable'>): KairosError<C>;
}

export function defineErrors<const T extends Record<string, ErrorSpec>>(
  capability: string,
  specs: T,
): ErrorRegistry<Extract<keyof T, string>> {
  type C = Extract<keyof T, string>;
  const frozen = Object.freeze({ ...specs }) as unknown as Readonly<Record<C, ErrorSpec>>;
  return Object.freeze({
    capability,
    specs: frozen,
    create(code: C, message?: string, opts: Omit<KairosErrorOptions, 'status' | 'retryable'> = {}) {
      const spec = frozen[code];
      return new KairosError<C>(code, message ?? spec.message, {
        ...opts,
        status: spec.status,
        retryable: spec.retryable ?? false,
      });
    },
  });
}

export const CoreErrors = defineErrors('core', {
  CORE_INVALID_OPTIONS: { status: 500, message: 'Invalid engine options' },
  CORE_INVALID_DURATION: { status: 400, message: 'Invalid duration (use e.g. "500ms", "30s", "10m", "2h", "30d")' },
  CORE_INTERNAL: { status: 500, message: 'Internal error' },
});
export type CoreErrorCode = keyof typeof CoreErrors.specs;
