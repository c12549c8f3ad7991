import { afterAll, beforeAll } from 'vitest';
import { runMetadataStoreConformance } from '../metadata-conformance.js';
import { createPostgresMetadataStore } from './postgres-metadata-store.js';
import { ensurePostgres, TEST_POSTGRES_URL, uniqueSchema } from './testing.js';

const schemas: string[] = [];

beforeAll(() => ensurePostgres());
afterAll(async () => {
  // Every test got its own schema: drop them all.
  for (const schema of schemas) await (await createPostgresMetadataStore({ url: TEST_POSTGRES_URL, schema })).drop();
});

runMetadataStoreConformance({
  name: 'postgres',
  create: async () => {
    const schema = uniqueSchema('conf');
    schemas.push(schema);
    const options = { url: TEST_POSTGRES_URL, schema };
    return { store: await createPostgresMetadataStore(options), reopen: () => createPostgresMetadataStore(options) };
  },
});
