import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorRegistries } from '../../src/engine/index.js';

/** docs/errors.md and the code registries must agree, row for row (the way Fastify checks Errors.md). */
describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { status: number; retryable: boolean }>();
  for (const match of doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| (\d{3}) \| (yes|no) \|/gm)) {
    expect(rows.has(match[1]!), `${match[1]} documented twice`).toBe(false);
    rows.set(match[1]!, { status: Number(match[2]), retryable: match[3] === 'yes' });
  }
  const registered = new Map<string, { status: number; retryable: boolean }>();
  for (const registry of errorRegistries) {
    for (const [code, spec] of Object.entries(registry.specs)) {
      registered.set(code, { status: spec.status, retryable: spec.retryable ?? false });
    }
  }

  it('documents every registered code with its status and retryability', () => {
    for (const [code, spec] of registered) {
      expect(rows.get(code), `${code} is missing from docs/errors.md`).toEqual(spec);
    }
  });

  it('documents no code that the registries do not have', () => {
    const unknown = [...rows.keys()].filter((code) => !registered.has(code));
    expect(unknown).toEqual([]);
  });

  it('prefixes every code with its capability', () => {
    for (const registry of errorRegistries) {
      for (const code of Object.keys(registry.specs)) {
        expect(code.startsWith(`${registry.capability.toUpperCase()}_`), code).toBe(true);
      }
    }
  });
});
