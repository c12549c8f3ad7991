import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isKairosError } from '../core/index.js';
import { ServeErrors } from './errors.js';
import type { ErrorBody } from './types.js';

/** Fastify's own error codes mapped onto ours, so every answer has the one documented shape. */
const FASTIFY_CODES: Record<string, { code: string; status: number }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'SERVE_PAYLOAD_TOO_LARGE', status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'SERVE_UNSUPPORTED_MEDIA_TYPE', status: 415 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'SERVE_INVALID_REQUEST', status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'SERVE_INVALID_REQUEST', status: 400 },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'SERVE_INVALID_REQUEST', status: 400 },
  FST_ERR_VALIDATION: { code: 'SERVE_INVALID_REQUEST', status: 400 },
};

export function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return details ? { error: { code, message, details } } : { error: { code, message } };
}

export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (isKairosError(error)) {
    if (error.status >= 500) request.log.error({ err: error }, error.message);
    if (error.retryable && error.status === 503) void reply.header('retry-after', '1');
    void reply.status(error.status).send(errorBody(error.code, error.message, error.details));
    return;
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    void reply.status(400).send(
      errorBody('SERVE_INVALID_REQUEST', error.message, {
        issues: fastifyError.validation.map((v) => ({ path: v.instancePath, message: v.message })),
      }),
    );
    return;
  }
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) {
    void reply.status(mapped.status).send(errorBody(mapped.code, error.message));
    return;
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    void reply.status(fastifyError.statusCode).send(errorBody('SERVE_INVALID_REQUEST', error.message));
    return;
  }
  request.log.error({ err: error }, 'unhandled error');
  const internal = ServeErrors.specs.SERVE_INTERNAL;
  void reply.status(internal.status).send(errorBody('SERVE_INTERNAL', internal.message));
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(404).send(errorBody('SERVE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));
}
