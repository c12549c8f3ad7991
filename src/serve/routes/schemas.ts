import {
  COMPATIBILITY_MODES,
  COMPATIBILITY_POLICIES,
  type CompatibilityMode,
  type CompatibilityPolicy,
  type SchemaRegistryApi,
} from '../../collect/index.js';
import type { RouteModule } from '../app.js';
import { requireSecret } from '../auth.js';

export interface SchemaRoutesDeps {
  readonly collector: { readonly schemas: SchemaRegistryApi };
}

interface EventParams {
  event: string;
}

const eventParams = {
  type: 'object',
  properties: { event: { type: 'string', minLength: 1 } },
  required: ['event'],
} as const;

const secret = { security: [{ secretKey: [] }], tags: ['schemas'] };

/**
 * Schema registry (secret key): JSON Schemas for the `properties` of track events, one subject per
 * event name, versioned, with a compatibility mode checked when a version is registered.
 * `PUT /v1/schemas/{event}` takes `{"schema": {...}}` (or the schema itself as the body).
 */
export function schemaRoutes(deps: SchemaRoutesDeps): RouteModule {
  const registry = deps.collector.schemas;
  return (app, { keys }) => {
    app.addHook('preHandler', requireSecret(keys));

    app.put<{ Params: EventParams; Body: unknown }>(
      '/v1/schemas/:event',
      { schema: { ...secret, summary: 'Register a schema version', params: eventParams } },
      async (request, reply) => {
        const body = request.body;
        const schema =
          typeof body === 'object' && body !== null && !Array.isArray(body) && 'schema' in body ? body.schema : body;
        const result = await registry.register(request.params.event, schema);
        return reply.status(result.created ? 201 : 200).send(result);
      },
    );

    app.get('/v1/schemas', { schema: { ...secret, summary: 'List schema subjects' } }, () => ({
      items: registry.list().map((s) => ({
        event: s.event,
        compatibility: s.compatibility,
        policy: s.policy,
        latestVersion: s.latest?.version ?? null,
        versions: s.versions,
      })),
    }));

    app.get<{ Params: EventParams }>(
      '/v1/schemas/:event',
      { schema: { ...secret, summary: 'Latest schema and version list', params: eventParams } },
      (request) => registry.get(request.params.event),
    );

    app.get<{ Params: EventParams & { version: string } }>(
      '/v1/schemas/:event/versions/:version',
      {
        schema: {
          ...secret,
          summary: 'One schema version (a number or "latest")',
          params: {
            type: 'object',
            properties: {
              event: { type: 'string', minLength: 1 },
              version: { type: 'string', pattern: '^(latest|[1-9][0-9]{0,8})$' },
            },
            required: ['event', 'version'],
          },
        },
      },
      (request) => {
        const { event, version } = request.params;
        return registry.getVersion(event, version === 'latest' ? 'latest' : Number(version));
      },
    );

    app.put<{ Params: EventParams; Body: { compatibility: CompatibilityMode; policy?: CompatibilityPolicy } }>(
      '/v1/schemas/:event/compatibility',
      {
        schema: {
          ...secret,
          summary: 'Set the compatibility mode (and policy) of an event',
          params: eventParams,
          body: {
            type: 'object',
            properties: {
              compatibility: { type: 'string', enum: [...COMPATIBILITY_MODES] },
              policy: { type: 'string', enum: [...COMPATIBILITY_POLICIES] },
            },
            required: ['compatibility'],
            additionalProperties: false,
          },
        },
      },
      (request) => registry.setCompatibility(request.params.event, request.body.compatibility, request.body.policy),
    );

    app.delete<{ Params: EventParams }>(
      '/v1/schemas/:event',
      { schema: { ...secret, summary: 'Delete every version of an event schema', params: eventParams } },
      (request) => registry.delete(request.params.event),
    );
  };
}
