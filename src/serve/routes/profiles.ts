import { ProfilesErrors, type ProfileReader, type ProfileView } from '../../profiles/index.js';
import type { RouteModule } from '../app.js';
import { authenticate, requireSecret } from '../auth.js';
import { ServeErrors } from '../errors.js';
import type { SseHub } from '../sse.js';

export interface ProfileRoutesDeps {
  readonly profiles: ProfileReader;
  readonly hub: SseHub;
}

interface ProfileParams {
  id: string;
}
interface ProfileQuery {
  anonymousId?: string;
  writeKey?: string;
}

const profileSchema = {
  type: 'object',
  properties: {
    profileId: { type: 'string' },
    userId: { type: ['string', 'null'] },
    anonymousIds: { type: 'array', items: { type: 'string' } },
    traits: { type: 'object', additionalProperties: true },
    segments: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'string' }, version: { type: 'integer' }, since: { type: 'string' } },
      },
    },
    features: { type: 'object', additionalProperties: true },
    updatedAt: { type: ['string', 'null'] },
  },
} as const;

const querySchema = {
  type: 'object',
  properties: { anonymousId: { type: 'string', minLength: 1 }, writeKey: { type: 'string' } },
} as const;

/**
 * Profile reads (DESIGN.md §4): `GET /v1/profiles/{id}` where id is a userId, or `?anonymousId=` (then
 * the path id is ignored; use `-`). The live stream accepts the write key in the query (EventSource
 * cannot send headers) and then only for an anonymousId lookup: it exposes segment changes only.
 */
export function profileRoutes(deps: ProfileRoutesDeps): RouteModule {
  return (app, { keys }) => {
    const lookupOf = (params: ProfileParams, query: ProfileQuery) =>
      query.anonymousId !== undefined ? { anonymousId: query.anonymousId } : { userId: params.id };

    const load = async (params: ProfileParams, query: ProfileQuery): Promise<ProfileView> => {
      const view = await deps.profiles.get(lookupOf(params, query));
      if (!view)
        throw ProfilesErrors.create(
          'PROFILES_NOT_FOUND',
          `No profile for ${query.anonymousId !== undefined ? `anonymousId ${query.anonymousId}` : `userId ${params.id}`}`,
        );
      return view;
    };

    app.get<{ Params: ProfileParams; Querystring: ProfileQuery }>(
      '/v1/profiles/:id',
      {
        preHandler: requireSecret(keys),
        schema: {
          tags: ['profiles'],
          security: [{ secretKey: [] }],
          querystring: querySchema,
          response: { 200: profileSchema },
        },
      },
      (request) => load(request.params, request.query),
    );

    app.get<{ Params: ProfileParams; Querystring: ProfileQuery }>(
      '/v1/profiles/:id/segments',
      {
        preHandler: requireSecret(keys),
        schema: { tags: ['profiles'], security: [{ secretKey: [] }], querystring: querySchema },
      },
      async (request) => {
        const view = await load(request.params, request.query);
        return { profileId: view.profileId, segments: view.segments };
      },
    );

    app.get<{ Params: ProfileParams; Querystring: ProfileQuery }>(
      '/v1/profiles/:id/stream',
      { schema: { tags: ['profiles'], querystring: querySchema } },
      (request, reply) => {
        const principal = authenticate(keys, request, request.query.writeKey);
        if (!principal) throw ServeErrors.create('SERVE_UNAUTHORIZED');
        if (principal.kind === 'write' && request.query.anonymousId === undefined) {
          throw ServeErrors.create('SERVE_FORBIDDEN', 'With a write key, the live stream needs ?anonymousId=');
        }
        const lookup = lookupOf(request.params, request.query);
        const raw = lookup.anonymousId !== undefined ? `a:${lookup.anonymousId}` : `u:${lookup.userId}`;
        const resolved = deps.profiles.keyFor(lookup) ?? raw;
        reply.hijack();
        const response = reply.raw;
        response.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
          ...corsHeaders(request.headers.origin),
        });
        response.write(`event: ready\ndata: ${JSON.stringify({ profileId: resolved })}\n\n`);
        const unsubscribe = deps.hub.subscribe([...new Set([raw, resolved])], response);
        request.raw.on('close', unsubscribe);
      },
    );
  };
}

function corsHeaders(origin: string | undefined): Record<string, string> {
  return origin
    ? { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' }
    : {};
}
