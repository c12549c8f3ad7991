import type { DeadLetterApi, ReplayRequest } from '../../collect/index.js';
import type { RouteModule } from '../app.js';
import { requireSecret } from '../auth.js';
import { ServeErrors } from '../errors.js';

export interface DeadLetterRoutesDeps {
  readonly collector: { readonly deadLetters: DeadLetterApi };
}

interface ListQuery {
  code?: string;
  event?: string;
  cursor?: string;
  limit?: number;
  order?: 'asc' | 'desc';
}

const secret = { security: [{ secretKey: [] }], tags: ['dead-letters'] };

/**
 * Dead letters (secret key): rejected messages with their reason, listed newest first with filters and
 * a cursor, and replayed (re-validated against the current schemas) by ids, by filter, or all.
 */
export function deadLetterRoutes(deps: DeadLetterRoutesDeps): RouteModule {
  const store = deps.collector.deadLetters;
  return (app, { keys }) => {
    app.addHook('preHandler', requireSecret(keys));

    app.get<{ Querystring: ListQuery }>(
      '/v1/dead-letters',
      {
        schema: {
          ...secret,
          summary: 'List dead letters',
          querystring: {
            type: 'object',
            properties: {
              code: { type: 'string' },
              event: { type: 'string' },
              cursor: { type: 'string' },
              limit: { type: 'integer', minimum: 1, maximum: 1000 },
              order: { type: 'string', enum: ['asc', 'desc'] },
            },
            additionalProperties: false,
          },
        },
      },
      (request) => store.list(request.query),
    );

    app.get<{ Params: { id: string } }>(
      '/v1/dead-letters/:id',
      { schema: { ...secret, summary: 'One dead letter' } },
      async (request) => {
        const doc = await store.get(request.params.id);
        if (!doc) throw ServeErrors.create('SERVE_NOT_FOUND', `No dead letter ${request.params.id}`);
        return doc;
      },
    );

    app.post<{ Body: ReplayRequest }>(
      '/v1/dead-letters/replay',
      {
        schema: {
          ...secret,
          summary: 'Replay dead letters (by ids, filter or all)',
          body: {
            type: 'object',
            properties: {
              ids: { type: 'array', items: { type: 'string' }, maxItems: 10000 },
              filter: {
                type: 'object',
                properties: { code: { type: 'string' }, event: { type: 'string' } },
                additionalProperties: false,
              },
              all: { type: 'boolean' },
              limit: { type: 'integer', minimum: 1 },
            },
            additionalProperties: false,
          },
        },
      },
      (request) => store.replay(request.body),
    );
  };
}
