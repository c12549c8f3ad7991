import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { RouteModule } from '../app.js';

export interface StaticRoutesDeps {
  /** Built SDK (`dist/sdk`): served at /sdk/ (kairos.min.js, kairos.esm.js). */
  readonly sdkDir?: string;
}

/** The built browser SDK at /sdk/ (skipped when it has not been built yet). The web apps are `webRoutes`. */
export function staticRoutes(deps: StaticRoutesDeps): RouteModule {
  return async (app) => {
    let decorated = false;
    const mount = async (root: string, prefix: string) => {
      if (!existsSync(root)) return;
      await app.register(fastifyStatic, {
        root,
        prefix,
        decorateReply: !decorated,
        cacheControl: true,
        maxAge: prefix === '/sdk/' ? 300_000 : 0,
        index: ['index.html'],
        schemaHide: true,
      });
      decorated = true;
    };
    if (deps.sdkDir) await mount(deps.sdkDir, '/sdk/');
  };
}
