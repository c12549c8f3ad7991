import type { RouteModule } from '../app.js';

export interface HealthDeps {
  /** True once every part of the engine this process runs is up (stores open, workers started). */
  readonly isReady: () => boolean;
  /** Optional detail for /readyz (e.g. stream lag per partition). */
  readonly readiness?: () => Record<string, unknown>;
}

/** /healthz (the process answers), /readyz (it can take traffic), /metrics (Prometheus text). */
export function healthRoutes(deps: HealthDeps): RouteModule {
  return (app, { metrics }) => {
    app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
      const ready = deps.isReady();
      const detail = deps.readiness?.() ?? {};
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'starting', ...detail });
    });
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const text = await metrics.metrics();
      return reply.type(metrics.contentType).send(text);
    });
  };
}
