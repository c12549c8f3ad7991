import {
  SegmentsErrors,
  VERSION_STATES,
  validateDefinition,
  type BackfillLauncher,
  type MembershipReader,
  type SegmentService,
  type VersionState,
} from '../../segments/index.js';
import type { RouteModule } from '../app.js';
import { requireSecret } from '../auth.js';

export interface SegmentRoutesDeps {
  readonly service: SegmentService;
  readonly members: MembershipReader;
  /** Runs backfills; without it, `POST /v1/segments/{id}/backfill` answers SEGMENTS_BACKFILL_UNAVAILABLE. */
  readonly backfill?: BackfillLauncher;
}

interface IdParams {
  id: string;
}

const secret = { security: [{ secretKey: [] }], tags: ['segments'] };
const idParams = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const;

/**
 * Segment administration (secret key), DESIGN.md §4/§6. Bodies are validated by the segments
 * capability (not by route schemas) so that a bad rule answers `SEGMENTS_RULE_INVALID` with the JSON
 * pointer of the fault in `details.pointer`.
 */
export function segmentRoutes(deps: SegmentRoutesDeps): RouteModule {
  const { service, members } = deps;
  return (app, { keys }) => {
    app.addHook('preHandler', requireSecret(keys));

    app.get<{ Querystring: { after?: string; limit?: number } }>(
      '/v1/segments',
      {
        schema: {
          ...secret,
          summary: 'List segments',
          querystring: {
            type: 'object',
            properties: { after: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 500 } },
            additionalProperties: false,
          },
        },
      },
      (request) => service.list(request.query),
    );

    app.post(
      '/v1/segments/validate',
      { schema: { ...secret, summary: 'Validate a definition without saving it' } },
      (request) => ({
        valid: true,
        definition: validateDefinition(request.body),
      }),
    );

    app.put<{ Params: IdParams }>(
      '/v1/segments/:id',
      {
        schema: {
          ...secret,
          summary: 'Create a new version of a segment ({id, name, condition, state?: draft|shadow|active})',
          params: idParams,
        },
      },
      async (request, reply) => {
        const { view, version, created } = await service.put(request.params.id, request.body);
        return reply.status(created ? 201 : 200).send({ ...view, createdVersion: version });
      },
    );

    app.get<{ Params: IdParams }>(
      '/v1/segments/:id',
      { schema: { ...secret, summary: 'A segment, its versions and member counts', params: idParams } },
      (request) => service.get(request.params.id),
    );

    app.delete<{ Params: IdParams }>(
      '/v1/segments/:id',
      { schema: { ...secret, summary: 'Retire every version of a segment', params: idParams } },
      async (request, reply) => {
        await service.delete(request.params.id);
        return reply.status(204).send();
      },
    );

    app.post<{ Params: IdParams & { version: number }; Body: { state?: unknown } }>(
      '/v1/segments/:id/versions/:version',
      {
        schema: {
          ...secret,
          summary: 'Move a version through its lifecycle (draft → shadow → active → retired)',
          params: {
            type: 'object',
            properties: { id: { type: 'string' }, version: { type: 'integer', minimum: 1 } },
            required: ['id', 'version'],
          },
        },
      },
      (request) => {
        const state = (request.body as { state?: unknown } | undefined)?.state;
        if (
          typeof state !== 'string' ||
          !(VERSION_STATES as readonly string[]).includes(state) ||
          state === 'backfilling'
        ) {
          throw SegmentsErrors.create('SEGMENTS_RULE_INVALID', '/state: expected draft, shadow, active or retired', {
            details: { pointer: '/state', expected: 'draft, shadow, active or retired' },
          });
        }
        return service.setVersionState(request.params.id, request.params.version, state as VersionState);
      },
    );

    app.get<{ Params: IdParams; Querystring: { cursor?: string; limit?: number; version?: number } }>(
      '/v1/segments/:id/members',
      {
        schema: {
          ...secret,
          summary: 'Members of the active version (or ?version=), with a count and a cursor',
          params: idParams,
          querystring: {
            type: 'object',
            properties: {
              cursor: { type: 'string' },
              limit: { type: 'integer', minimum: 1, maximum: 1000 },
              version: { type: 'integer', minimum: 1 },
            },
            additionalProperties: false,
          },
        },
      },
      async (request) => {
        const view = await service.get(request.params.id);
        const version = request.query.version ?? view.activeVersion;
        if (version === null || !view.versions.some((v) => v.version === version)) {
          throw SegmentsErrors.create(
            'SEGMENTS_VERSION_NOT_FOUND',
            `Segment "${view.id}" has no ${version === null ? 'active version' : `version ${version}`}`,
            {
              details: { id: view.id, version },
            },
          );
        }
        const page = await members.page(view.id, version, {
          ...(request.query.cursor !== undefined ? { cursor: request.query.cursor } : {}),
          ...(request.query.limit !== undefined ? { limit: request.query.limit } : {}),
        });
        return page;
      },
    );

    app.post<{ Params: IdParams }>(
      '/v1/segments/:id/backfill',
      {
        schema: {
          ...secret,
          summary:
            'Compute a new version from the retained log, then switch to it (body: a definition, or none for the newest draft/shadow)',
          params: idParams,
        },
      },
      async (request, reply) => {
        if (!deps.backfill) throw SegmentsErrors.create('SEGMENTS_BACKFILL_UNAVAILABLE');
        const { version } = await service.beginBackfill(request.params.id, request.body ?? undefined);
        const status = await deps.backfill.start(request.params.id, version);
        return reply.status(202).send(status);
      },
    );

    app.get<{ Params: IdParams }>(
      '/v1/segments/:id/backfill',
      { schema: { ...secret, summary: 'Progress of the latest backfill of a segment', params: idParams } },
      async (request) => {
        const status = await service.backfillStatus(request.params.id);
        if (!status)
          throw SegmentsErrors.create('SEGMENTS_NOT_FOUND', `No backfill of "${request.params.id}"`, {
            details: { id: request.params.id },
          });
        return status;
      },
    );
  };
}
