// Globals of the web apps: the SDK's IIFE build defines `kairos`; /store/config.js defines
// KAIROS_CONFIG. Typed from the SDK sources so the store is checked against the real API.
import type * as Sdk from '../src/sdk/index.js';

declare global {
  /** The browser SDK (dist/sdk/kairos.min.js). */
  var kairos: typeof Sdk | undefined;
  /** Written by GET /store/config.js (the engine's public write key). */
  var KAIROS_CONFIG: { writeKey: string; host: string } | undefined;
}
