#!/usr/bin/env node
// The `kairos` command. Runs the compiled engine (npm ci builds it through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (!existsSync(entry)) {
  console.error('kairos: dist/ is missing; run `npm run build` (npm ci does it for you).');
  process.exit(1);
}
await import(entry);
