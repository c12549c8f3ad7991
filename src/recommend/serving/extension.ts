import type { EngineExtension } from '../../engine/index.js';
import { recommendationRoutes } from '../../serve/index.js';
import { resolveRecommendationOptions, type RecommendationOptions } from './options.js';
import { RecommendationService } from './service.js';

/**
 * The recommendation capability as an engine extension: the trainer tail, the trainer thread, the
 * model registry, the live scorer and its routes (`GET /v1/recommendations`, `GET /v1/models`,
 * `GET /v1/models/{version}`, `POST /v1/models/train`). Options are validated here, before start.
 */
export function createRecommendationExtension(options: RecommendationOptions = {}): EngineExtension {
  const resolved = resolveRecommendationOptions(options);
  return {
    name: 'recommend',
    async start(context) {
      const service = new RecommendationService({
        dataDir: context.dataDir,
        log: context.log,
        state: context.state,
        metadata: context.metadata,
        profiles: context.profiles,
        metrics: context.metrics,
        clock: context.clock,
        logger: context.logger,
        partitionCount: context.partitionCount,
        options: resolved,
      });
      await service.start();
      return {
        routes: [recommendationRoutes({ service })],
        onCommit: (report) => service.onCommit(report),
        stop: () => service.stop(),
      };
    },
  };
}
