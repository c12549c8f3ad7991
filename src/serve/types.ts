/** API keys the server accepts. Write keys are public (browsers); secret keys are server-side/admin. */
export interface KeyRing {
  readonly writeKeys: readonly string[];
  readonly secretKeys: readonly string[];
}

/** Who made a request, as established by the auth hooks. */
export type Principal =
  { readonly kind: 'write'; readonly key: string } | { readonly kind: 'secret'; readonly key: string };

/** The JSON error body every route answers with (DESIGN.md §4). */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
