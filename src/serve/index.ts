export { createHttpServer } from './app.js';
export type { HttpServerOptions, RouteContext, RouteModule } from './app.js';
export {
  authenticate,
  basicUsername,
  bearerToken,
  isSecretKey,
  isWriteKey,
  requireAnyKey,
  requireSecret,
} from './auth.js';
export { errorBody } from './error-handler.js';
export { ServeErrors } from './errors.js';
export type { ServeErrorCode } from './errors.js';
export { healthRoutes } from './routes/health.js';
export type { HealthDeps } from './routes/health.js';
export type { ErrorBody, KeyRing, Principal } from './types.js';
export { profileRoutes } from './routes/profiles.js';
export type { ProfileRoutesDeps } from './routes/profiles.js';
export { SseHub } from './sse.js';
export type { LiveRecord } from './sse.js';
export { collectRoutes, registerCollectMetrics } from './routes/collect.js';
export type { CollectRoutesDeps } from './routes/collect.js';
export { schemaRoutes } from './routes/schemas.js';
export type { SchemaRoutesDeps } from './routes/schemas.js';
export { deadLetterRoutes } from './routes/dead-letters.js';
export type { DeadLetterRoutesDeps } from './routes/dead-letters.js';
export { staticRoutes } from './routes/static.js';
export type { StaticRoutesDeps } from './routes/static.js';
export { segmentRoutes } from './routes/segments.js';
export type { SegmentRoutesDeps } from './routes/segments.js';
export { destinationRoutes } from './routes/destinations.js';
export type { DestinationRoutesDeps } from './routes/destinations.js';
export { webRoutes } from './routes/web.js';
export type { WebRoutesDeps } from './routes/web.js';
export { recommendationRoutes } from './routes/recommendations.js';
export type { RecommendationApi, RecommendationRoutesDeps, RecommendationsQuery } from './routes/recommendations.js';
