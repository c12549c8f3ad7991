import { existsSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteModule } from '../app.js';
import { ServeErrors } from '../errors.js';

export interface WebRoutesDeps {
  /** The web apps' folder, holding `store/` and `dashboard/`. @default the repository's `web/` */
  readonly webDir?: string;
  /**
   * The engine's address as the store's SDK should use it (`host` of `kairos.load`). The empty
   * string means the page's own origin, right whenever the store is served by the engine itself.
   * @default ""
   */
  readonly publicHost?: string;
}

/** Where this file lives in both layouts (src/serve/routes and dist/serve/routes): web/ is three up. */
const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../web', import.meta.url));

/** Paths with one of these extensions are files: a missing one is a 404, never the app's page. */
const ASSET_EXTENSIONS = new Set(['.js', '.mjs', '.css', '.svg', '.png', '.ico', '.json', '.map', '.txt', '.html']);

interface WildcardParams {
  '*': string;
}

/**
 * The web apps (DESIGN.md §1): the demo store at `/store/` and the operator dashboard at
 * `/dashboard/` (`/` redirects there). Both are single-page apps with history routing: a path that
 * is not a file gets the app's index.html. `GET /store/config.js` hands the store the engine's first
 * write key (public by design: browsers send it with every event); the dashboard asks its operator
 * for the secret key and never receives it from the server.
 */
export function webRoutes(deps: WebRoutesDeps = {}): RouteModule {
  const webDir = resolve(deps.webDir ?? DEFAULT_WEB_DIR);
  const host = deps.publicHost ?? '';
  return async (app, { keys }) => {
    // Only for reply.sendFile (ranges, ETag, 304s, traversal checks); the routes below decide what is served.
    await app.register(fastifyStatic, { root: webDir, serve: false, decorateReply: true });

    app.get('/store/config.js', { schema: { hide: true } }, (_request, reply) => {
      const writeKey = keys.writeKeys[0];
      if (writeKey === undefined) throw ServeErrors.create('SERVE_INTERNAL', 'The engine has no write key');
      return reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(`window.KAIROS_CONFIG = ${JSON.stringify({ writeKey, host })};\n`);
    });

    const spa = (app: string) => {
      const root = resolve(webDir, app);
      return async (request: FastifyRequest, reply: FastifyReply) => {
        const rest = (request.params as Partial<WildcardParams>)['*'] ?? '';
        // `/store` without the slash: relative paths in the app resolve against its folder.
        if (rest === '' && !request.url.split('?')[0]!.endsWith('/')) return reply.redirect(`/${app}/`, 301);
        const file = rest === '' ? undefined : resolve(root, rest);
        const inside = file !== undefined && file.startsWith(root + sep);
        if (inside && existsSync(file) && statSync(file).isFile()) {
          return reply
            .header('cache-control', 'no-cache')
            .sendFile(file.slice(root.length + 1), root, { cacheControl: false });
        }
        if (ASSET_EXTENSIONS.has(extname(rest))) throw ServeErrors.create('SERVE_NOT_FOUND', `No file /${app}/${rest}`);
        if (!existsSync(resolve(root, 'index.html')))
          throw ServeErrors.create('SERVE_NOT_FOUND', `The ${app} app is not installed`);
        return reply.header('cache-control', 'no-cache').sendFile('index.html', root, { cacheControl: false });
      };
    };

    for (const name of ['store', 'dashboard']) {
      const handler = spa(name);
      app.get(`/${name}`, { schema: { hide: true } }, handler);
      app.get(`/${name}/*`, { schema: { hide: true } }, handler);
    }
    app.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/dashboard/', 302));
  };
}
