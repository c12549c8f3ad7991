import { SegmentsErrors, type DestinationService, type WebhookDispatcher } from '../../segments/index.js';
import type { RouteModule } from '../app.js';
import { requireSecret } from '../auth.js';

export interface DestinationRoutesDeps {
  readonly destinations: DestinationService;
  /** Refreshed after changes and used for dead-letter replays. */
  readonly dispatcher?: WebhookDispatcher;
}

interface IdParams {
  id: string;
}

const secret = { security: [{ secretKey: [] }], tags: ['destinations'] };
const idParams = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const;

/**
 * Webhook destinations for segment enter/exit (secret key). A PUT without a secret generates one and
 * returns it once; reads show only its last characters.
 */
export function destinationRoutes(deps: DestinationRoutesDeps): RouteModule {
  const { destinations, dispatcher } = deps;
  const refresh = async () => {
    if (dispatcher) await dispatcher.refresh();
  };
  return (app, { keys }) => {
    app.addHook('preHandler', requireSecret(keys));

    app.get('/v1/destinations', { schema: { ...secret, summary: 'List webhook destinations' } }, async () => ({
      items: await destinations.list(),
    }));

    app.put<{ Params: IdParams }>(
      '/v1/destinations/:id',
      {
        schema: {
          ...secret,
          summary: 'Create or replace a webhook destination {url, secret?, segments?, types?, enabled?}',
          params: idParams,
        },
      },
      async (request, reply) => {
        const { view, created, secret: generated } = await destinations.put(request.params.id, request.body);
        await refresh();
        return reply.status(created ? 201 : 200).send(generated ? { ...view, secret: generated } : view);
      },
    );

    app.get<{ Params: IdParams }>(
      '/v1/destinations/:id',
      { schema: { ...secret, summary: 'One webhook destination', params: idParams } },
      (request) => destinations.get(request.params.id),
    );

    app.delete<{ Params: IdParams }>(
      '/v1/destinations/:id',
      { schema: { ...secret, summary: 'Delete a destination, its cursors and dead letters', params: idParams } },
      async (request, reply) => {
        await destinations.delete(request.params.id);
        await refresh();
        return reply.status(204).send();
      },
    );

    app.get<{ Params: IdParams; Querystring: { after?: string; limit?: number } }>(
      '/v1/destinations/:id/dead-letters',
      {
        schema: {
          ...secret,
          summary: 'Changes that exhausted their retries, oldest first',
          params: idParams,
          querystring: {
            type: 'object',
            properties: { after: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 500 } },
            additionalProperties: false,
          },
        },
      },
      (request) => destinations.deadLetters(request.params.id, request.query),
    );

    app.post<{ Params: IdParams }>(
      '/v1/destinations/:id/dead-letters/replay',
      { schema: { ...secret, summary: 'Try every dead letter of a destination once more', params: idParams } },
      async (request) => {
        if (!dispatcher) throw SegmentsErrors.create('SEGMENTS_DISPATCHER_UNAVAILABLE');
        return dispatcher.replayDeadLetters(request.params.id);
      },
    );
  };
}
