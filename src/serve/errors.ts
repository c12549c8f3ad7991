import { defineErrors } from '../core/index.js';

export const ServeErrors = defineErrors('serve', {
  SERVE_UNAUTHORIZED: { status: 401, message: 'Missing or invalid API key' },
  SERVE_FORBIDDEN: { status: 403, message: 'This key may not use this route' },
  SERVE_NOT_FOUND: { status: 404, message: 'No such route' },
  SERVE_INVALID_REQUEST: { status: 400, message: 'The request does not match the route schema' },
  SERVE_PAYLOAD_TOO_LARGE: { status: 413, message: 'Request body too large' },
  SERVE_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type or encoding' },
  SERVE_RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests' },
  SERVE_NOT_READY: { status: 503, retryable: true, message: 'The engine is starting or stopping' },
  SERVE_INTERNAL: { status: 500, message: 'Internal server error' },
});
export type ServeErrorCode = keyof typeof ServeErrors.specs;
