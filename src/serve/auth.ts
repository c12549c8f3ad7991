import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ServeErrors } from './errors.js';
import type { KeyRing, Principal } from './types.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/**
 * Key extraction (DESIGN.md §4). Write key: HTTP Basic username (password empty), or `writeKey` in the
 * JSON body (Segment convention). Secret key: `Authorization: Bearer <key>`.
 */
export function basicUsername(header: string | undefined): string | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? decoded : decoded.slice(0, colon);
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header || !/^bearer /i.test(header)) return undefined;
  return header.slice(7).trim();
}

function matches(candidate: string, keys: readonly string[]): boolean {
  const a = Buffer.from(candidate);
  let found = false;
  for (const key of keys) {
    const b = Buffer.from(key);
    // Constant-time per key so response timing does not reveal key prefixes.
    if (a.length === b.length && timingSafeEqual(a, b)) found = true;
  }
  return found;
}

export function isSecretKey(keys: KeyRing, candidate: string | undefined): boolean {
  return candidate !== undefined && matches(candidate, keys.secretKeys);
}

export function isWriteKey(keys: KeyRing, candidate: string | undefined): boolean {
  return candidate !== undefined && matches(candidate, keys.writeKeys);
}

/** The principal of a request from its headers (and, for write keys, an optional body/query key). */
export function authenticate(keys: KeyRing, request: FastifyRequest, bodyWriteKey?: unknown): Principal | undefined {
  const auth = request.headers.authorization;
  const bearer = bearerToken(auth);
  if (bearer !== undefined) return isSecretKey(keys, bearer) ? { kind: 'secret', key: bearer } : undefined;
  const basic = basicUsername(auth);
  if (basic !== undefined && basic !== '') {
    if (isWriteKey(keys, basic)) return { kind: 'write', key: basic };
    // Server SDKs sometimes put the secret key in Basic auth; accept it as the stronger principal.
    if (isSecretKey(keys, basic)) return { kind: 'secret', key: basic };
    return undefined;
  }
  if (typeof bodyWriteKey === 'string' && isWriteKey(keys, bodyWriteKey)) return { kind: 'write', key: bodyWriteKey };
  return undefined;
}

/** preHandler: a secret key is required (admin and server-side routes). */
export function requireSecret(keys: KeyRing) {
  return (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    const principal = authenticate(keys, request);
    if (!principal) return done(ServeErrors.create('SERVE_UNAUTHORIZED'));
    if (principal.kind !== 'secret')
      return done(ServeErrors.create('SERVE_FORBIDDEN', 'This route needs the secret key'));
    request.principal = principal;
    done();
  };
}

/** preHandler: a write key or a secret key (read-only public routes such as recommendations). */
export function requireAnyKey(keys: KeyRing, queryParam?: string) {
  return (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    const fromQuery = queryParam ? (request.query as Record<string, unknown> | undefined)?.[queryParam] : undefined;
    const principal = authenticate(keys, request, fromQuery);
    if (!principal) return done(ServeErrors.create('SERVE_UNAUTHORIZED'));
    request.principal = principal;
    done();
  };
}
