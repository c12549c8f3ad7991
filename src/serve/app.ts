import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../core/index.js';
import { handleError, handleNotFound } from './error-handler.js';
import type { KeyRing } from './types.js';

/** What every route module gets. */
export interface RouteContext {
  readonly keys: KeyRing;
  readonly metrics: Registry;
  readonly logger: Logger;
}

/** A capability's HTTP surface: registers its routes on the app. */
export type RouteModule = (app: FastifyInstance, context: RouteContext) => void | Promise<void>;

export interface HttpServerOptions {
  readonly keys: KeyRing;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Route modules, registered in order (each in its own encapsulated context). */
  readonly routes: readonly RouteModule[];
  /** Expose OpenAPI at /docs. @default true */
  readonly docs?: boolean;
  /** Engine version shown in the OpenAPI document. */
  readonly version?: string;
}

/**
 * The Fastify application: CORS for browsers, one error shape, OpenAPI generated from route schemas,
 * and the capabilities' route modules. It only reads stores and appends to the log through the
 * capabilities it is given: it never drives the stream.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  // Fastify's default instance type carries FastifyBaseLogger; pino's Logger is a superset of it.
  const app: FastifyInstance = Fastify<
    RawServerDefault,
    RawRequestDefaultExpression,
    RawReplyDefaultExpression,
    FastifyBaseLogger
  >({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    // Profile and segment ids may contain characters such as '@' or ':'.
    routerOptions: { maxParamLength: 512, ignoreTrailingSlash: true },
    // Collection routes set their own limits; everything else is small JSON.
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  await app.register(cors, {
    origin: true,
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'content-encoding'],
    maxAge: 86_400,
  });
  if (options.docs ?? true) {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'Kairos API',
          description: 'Collection (Segment-compatible), profiles, segments, recommendations and admin.',
          version: options.version ?? '0.0.0',
        },
        components: {
          securitySchemes: {
            writeKey: { type: 'http', scheme: 'basic', description: 'Write key as the Basic username' },
            secretKey: { type: 'http', scheme: 'bearer', description: 'Secret key' },
          },
        },
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }
  const context: RouteContext = { keys: options.keys, metrics: options.metrics, logger: options.logger };
  for (const module of options.routes) {
    await app.register(async (scope) => {
      await module(scope, context);
    });
  }
  return app;
}
