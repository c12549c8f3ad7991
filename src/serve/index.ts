export { createHttpServer } from './app.js';
export type { HttpServerOptions, RouteContext, RouteModule } from './app.js';
export { authenticate, basicUsername, bearerToken, isSecretKey, isWriteKey, requireAnyKey, requireSecret } from './auth.js';
export { errorBody } from './error-handler.js';
export { ServeErrors } from './errors.js';
export type { ServeErrorCode } from './errors.js';
export { healthRoutes } from './routes/health.js';
export type { HealthDeps } from './routes/health.js';
export type { ErrorBody, KeyRing, Principal } from './types.js';
