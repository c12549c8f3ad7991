import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  CollectErrors,
  decompressBody,
  mayContainForbiddenKeys,
  parseContentEncoding,
  parseJsonBody,
  scanRequestBody,
  type Collector,
  type IngestContext,
  type PreparedBatch,
} from '../../collect/index.js';
import { systemClock, type Clock, type EventType } from '../../core/index.js';
import type { RouteModule } from '../app.js';
import { authenticate, basicUsername, bearerToken, isSecretKey, isWriteKey } from '../auth.js';
import { handleError } from '../error-handler.js';
import type { KeyRing } from '../types.js';

export interface CollectRoutesDeps {
  readonly collector: Collector;
  /** Raw and decompressed request body limit (413 beyond). @default collector.options.maxRequestBytes */
  readonly maxRequestBytes?: number;
  /** Receive times come from it. @default systemClock */
  readonly clock?: Clock;
}

const ROUTE_TYPES: readonly (readonly [EventType, string])[] = [
  ['track', 't'],
  ['page', 'p'],
  ['screen', 's'],
  ['identify', 'i'],
  ['alias', 'a'],
  ['group', 'g'],
];

const answerSchema = {
  200: {
    type: 'object',
    properties: {
      success: { type: 'boolean' },
      accepted: { type: 'integer' },
      rejected: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            index: { type: 'integer' },
            messageId: { type: 'string' },
            code: { type: 'string' },
            message: { type: 'string' },
          },
        },
      },
    },
  },
} as const;

type Body = Record<string, unknown>;

/**
 * Who may write: the Authorization header when it carries a key (checked before the body is even
 * decoded), else `writeKey` in the body (Segment convention). Secret keys may write too.
 */
function headerPrincipal(keys: KeyRing, request: FastifyRequest): 'ok' | 'absent' {
  const header = request.headers.authorization;
  if (header === undefined || header === '') return 'absent';
  // "Basic Og==" (an empty username) says nothing: look for the key in the body.
  if (bearerToken(header) === undefined && basicUsername(header) === '') return 'absent';
  if (authenticate(keys, request) === undefined) throw CollectErrors.create('COLLECT_INVALID_WRITE_KEY');
  return 'ok';
}

function bodyPrincipal(keys: KeyRing, body: Body): void {
  const key = body.writeKey;
  if (key === undefined || key === null || key === '') throw CollectErrors.create('COLLECT_MISSING_WRITE_KEY');
  if (typeof key !== 'string' || (!isWriteKey(keys, key) && !isSecretKey(keys, key))) {
    throw CollectErrors.create('COLLECT_INVALID_WRITE_KEY');
  }
}

/** Prometheus series derived from `collector.stats()` at scrape time (idempotent per registry). */
export function registerCollectMetrics(registry: Registry, collector: Collector): void {
  if (registry.getSingleMetric('kairos_collect_messages_total')) return;
  const counter = (
    name: string,
    help: string,
    labelNames: readonly string[],
    read: (set: (labels: Record<string, string>, v: number) => void) => void,
  ) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        read((labels, v) => {
          if (v > 0) this.inc(labels, v);
        });
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  counter('kairos_collect_messages_total', 'Messages received by outcome', ['outcome'], (set) => {
    const s = collector.stats();
    set({ outcome: 'appended' }, s.messagesAccepted - s.messagesDuplicate);
    set({ outcome: 'duplicate' }, s.messagesDuplicate);
    set({ outcome: 'rejected' }, s.messagesRejected);
  });
  counter('kairos_collect_rejected_total', 'Rejected messages by code', ['code'], (set) => {
    for (const [code, n] of Object.entries(collector.stats().rejectedByCode)) set({ code }, n);
  });
  counter('kairos_collect_records_appended_total', 'Log records appended (events and seals)', [], (set) =>
    set({}, collector.stats().recordsAppended),
  );
  counter('kairos_collect_identity_links_total', 'Identity link decisions', ['kind'], (set) => {
    const s = collector.stats();
    set({ kind: 'created' }, s.linksCreated);
    set({ kind: 'relinked' }, s.linksRelinked);
    set({ kind: 'ignored_cycle' }, s.linksIgnored);
  });
  counter('kairos_collect_append_failures_total', 'Appends the log refused (answered 503)', [], (set) =>
    set({}, collector.stats().appendFailures),
  );
  counter('kairos_collect_overloaded_total', 'Requests shed by the in-flight byte budget', [], (set) =>
    set({}, collector.stats().overloaded),
  );
  counter('kairos_collect_dead_letters_total', 'Dead letters by event', ['event'], (set) => {
    const s = collector.stats();
    set({ event: 'stored' }, s.deadLettersStored);
    set({ event: 'evicted' }, s.deadLettersEvicted);
    set({ event: 'replayed' }, s.deadLettersReplayed);
  });
  gauge(
    'kairos_collect_in_flight_bytes',
    'Decoded request bytes being processed',
    () => collector.stats().inFlightBytes,
  );
  gauge(
    'kairos_collect_dedupe_entries',
    'messageIds remembered for deduplication',
    () => collector.stats().dedupeEntries,
  );
  gauge('kairos_collect_identity_map_size', 'Identity links known', () => collector.stats().identityLinks);
}

/**
 * The Segment-compatible collection API (DESIGN.md §4), in its own encapsulated context: the body is
 * read as bytes whatever the Content-Type, decompressed here (bounded), parsed once, authenticated,
 * and handed to the collector; the answer is sent only after the collector says everything is durable.
 */
export function collectRoutes(deps: CollectRoutesDeps): RouteModule {
  const { collector } = deps;
  const maxBytes = deps.maxRequestBytes ?? collector.options.maxRequestBytes;
  const clock = deps.clock ?? systemClock;

  return (app, { keys, metrics }) => {
    registerCollectMetrics(metrics, collector);

    // Browsers send text/plain (no CORS preflight), some SDKs mislabel gzip: take every body as bytes.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_request, body, done) =>
      done(null, body),
    );

    app.addHook('onRequest', (request, _reply, done) => {
      // Any Content-Type, even a malformed one, goes to the catch-all parser.
      if (request.headers['content-type'] !== undefined) request.headers['content-type'] = 'application/octet-stream';
      const length = Number(request.headers['content-length']);
      // Shed load before reading a body that would not fit the in-flight budget anyway.
      if (length > 0 && !collector.hasCapacity(length)) return done(CollectErrors.create('COLLECT_OVERLOADED'));
      done();
    });

    app.setErrorHandler((error: FastifyError | Error, request, reply) => {
      const code = (error as FastifyError).code;
      if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return handleError(
          CollectErrors.create('COLLECT_PAYLOAD_TOO_LARGE', `The request body exceeds ${maxBytes} bytes`, {
            details: { maxBytes, measured: 'raw' },
          }),
          request,
          reply,
        );
      }
      if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
        return handleError(
          CollectErrors.create('COLLECT_INVALID_JSON', 'The body does not match its Content-Length'),
          request,
          reply,
        );
      }
      return handleError(error, request, reply);
    });

    // Decodes, authenticates, parses and validates. Everything parsed lives and dies in here: what
    // crosses the disk wait in `ingest` below is the serialised events only (cheaper garbage collection).
    const prepare = async (request: FastifyRequest, impliedType: EventType | undefined): Promise<PreparedBatch> => {
      const receivedAtMs = clock.now();
      const viaHeader = headerPrincipal(keys, request) === 'ok';
      const raw = request.body;
      if (!Buffer.isBuffer(raw) || raw.length === 0) {
        throw CollectErrors.create('COLLECT_INVALID_JSON', 'The request body is empty');
      }
      const decoded = await decompressBody(raw, parseContentEncoding(request.headers['content-encoding']), maxBytes);
      request.body = undefined;
      // Fast path: bodies the scanner is sure of are validated and stored from their bytes; everything
      // else (and any body with an invalid message) is parsed and checked the general way below.
      const scanned = scanRequestBody(decoded, {
        single: impliedType !== undefined,
        maxDepth: collector.options.maxDepth,
        maxBatchMessages: collector.options.maxBatchMessages,
      });
      if (scanned !== undefined) {
        if (!viaHeader) bodyPrincipal(keys, { writeKey: scanned.writeKey });
        const ctx: IngestContext = {
          receivedAtMs,
          mayContainForbiddenKeys: false,
          bytes: decoded.length,
          ...(impliedType !== undefined ? { impliedType } : {}),
        };
        const prepared = collector.prepareScanned(scanned, ctx);
        if (prepared !== undefined) return prepared;
      }
      const { value, text } = parseJsonBody(decoded);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw CollectErrors.create('COLLECT_INVALID_BODY');
      }
      const body = value as Body;
      if (!viaHeader) bodyPrincipal(keys, body);
      const ctx: { -readonly [K in keyof IngestContext]: IngestContext[K] } = {
        receivedAtMs,
        mayContainForbiddenKeys: mayContainForbiddenKeys(text),
        bytes: decoded.length,
      };
      if (impliedType !== undefined) {
        ctx.impliedType = impliedType;
        return collector.prepare([body], ctx);
      }
      const batch = body.batch;
      if (!Array.isArray(batch) || batch.length === 0) throw CollectErrors.create('COLLECT_INVALID_BATCH');
      ctx.sentAt = body.sentAt;
      ctx.context = body.context;
      return collector.prepare(batch, ctx);
    };

    const ingest = async (request: FastifyRequest, reply: FastifyReply, impliedType: EventType | undefined) => {
      const result = await collector.commit(await prepare(request, impliedType));
      return reply.send({ success: true, accepted: result.accepted, rejected: result.rejected });
    };

    const hideWrite = { security: [{ writeKey: [] }] };
    app.post(
      '/v1/batch',
      { schema: { tags: ['collect'], summary: 'Segment batch', ...hideWrite, response: answerSchema } },
      (request, reply) => ingest(request, reply, undefined),
    );
    for (const [type, short] of ROUTE_TYPES) {
      app.post(
        `/v1/${type}`,
        { schema: { tags: ['collect'], summary: `Segment ${type}`, ...hideWrite, response: answerSchema } },
        (request, reply) => ingest(request, reply, type),
      );
      app.post(`/v1/${short}`, { schema: { hide: true, response: answerSchema } }, (request, reply) =>
        ingest(request, reply, type),
      );
    }
    // analytics-next reports its own metrics here, unauthenticated: accept and drop.
    app.post('/v1/m', { schema: { hide: true } }, (_request, reply) => reply.send({ success: true }));
  };
}
