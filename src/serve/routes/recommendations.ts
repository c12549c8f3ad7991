import type { RouteModule } from '../app.js';
import { requireAnyKey, requireSecret } from '../auth.js';

/** What the recommendation routes need (the recommend capability's service implements it). */
export interface RecommendationApi {
  /** The response body of `GET /v1/recommendations` as JSON text (built without a serializer pass). */
  recommend(query: RecommendationsQuery): Promise<string>;
  models(limit?: number): Promise<unknown>;
  model(version: number): Promise<unknown>;
  /** Trains a new version now; resolves with its registry record. */
  train(): Promise<unknown>;
}

export interface RecommendationRoutesDeps {
  readonly service: RecommendationApi;
}

export interface RecommendationsQuery {
  userId?: string;
  anonymousId?: string;
  placement?: string;
  itemId?: string;
  n?: number;
  writeKey?: string;
}

const querySchema = {
  type: 'object',
  properties: {
    userId: { type: 'string', maxLength: 512 },
    anonymousId: { type: 'string', maxLength: 512 },
    placement: { type: 'string', maxLength: 128 },
    itemId: {
      type: 'string',
      maxLength: 8192,
      description: 'The item being viewed (product placement), or cart items, comma-separated (cart placement)',
    },
    n: { type: 'integer' },
    writeKey: { type: 'string' },
  },
} as const;

const responseSchema = {
  200: {
    type: 'object',
    properties: {
      items: {
        type: 'array',
        items: { type: 'object', properties: { itemId: { type: 'string' }, score: { type: 'number' } } },
      },
      recommendationId: { type: 'string' },
      model: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'integer' } } },
      generatedAt: { type: 'string' },
    },
  },
} as const;

/**
 * Recommendations (DESIGN.md §4, write or secret key) and the model registry (secret key). The
 * recommendation body comes back from the service as text: the hot path skips Fastify's serializer.
 */
export function recommendationRoutes(deps: RecommendationRoutesDeps): RouteModule {
  const { service } = deps;
  return (app, { keys }) => {
    app.get<{ Querystring: RecommendationsQuery }>(
      '/v1/recommendations',
      {
        preHandler: requireAnyKey(keys, 'writeKey'),
        schema: {
          tags: ['recommendations'],
          security: [{ writeKey: [] }, { secretKey: [] }],
          querystring: querySchema,
          response: responseSchema,
        },
      },
      async (request, reply) => {
        const body = await service.recommend(request.query);
        void reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'no-store');
        return body;
      },
    );

    const secret = { preHandler: requireSecret(keys) };
    app.get<{ Querystring: { limit?: number } }>(
      '/v1/models',
      {
        ...secret,
        schema: {
          tags: ['recommendations'],
          security: [{ secretKey: [] }],
          querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
        },
      },
      (request) => service.models(request.query.limit),
    );

    app.get<{ Params: { version: string } }>(
      '/v1/models/:version',
      { ...secret, schema: { tags: ['recommendations'], security: [{ secretKey: [] }] } },
      (request) => service.model(Number(request.params.version.replace(/^v/, ''))),
    );

    app.post<{ Querystring: { wait?: boolean } }>(
      '/v1/models/train',
      {
        ...secret,
        schema: {
          tags: ['recommendations'],
          security: [{ secretKey: [] }],
          querystring: { type: 'object', properties: { wait: { type: 'boolean' } } },
        },
      },
      async (request, reply) => {
        const training = service.train();
        if (request.query.wait === true) return training;
        training.catch(() => undefined);
        return reply.status(202).send({ accepted: true });
      },
    );
  };
}
