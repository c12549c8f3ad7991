export { errorRegistries } from './error-registries.js';
