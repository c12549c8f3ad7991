export { errorRegistries } from './error-registries.js';
export { startEngine } from './engine.js';
export type { RunningEngine } from './engine.js';
export { resolveEngineOptions } from './options.js';
export type { EngineOptions, ResolvedEngineOptions } from './options.js';
export type { EngineContext, EngineExtension, StartedExtension } from './extension.js';
