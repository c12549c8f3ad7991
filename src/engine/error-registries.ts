import { CoreErrors, type ErrorRegistry } from '../core/index.js';
import { LogErrors } from '../log/index.js';
import { ServeErrors } from '../serve/index.js';
import { StoreErrors } from '../store/index.js';

/** Every capability's error registry; docs/errors.md must list exactly these codes (a test checks). */
export const errorRegistries: readonly ErrorRegistry<string>[] = [CoreErrors, LogErrors, StoreErrors, ServeErrors];
