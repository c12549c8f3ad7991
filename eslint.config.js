// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';

/** Capabilities, in data-flow order. Each may import another only through its index.ts. */
const capabilities = [
  'core',
  'collect',
  'log',
  'stream',
  'store',
  'profiles',
  'segments',
  'recommend',
  'datasets',
  'serve',
  'engine',
  'cli',
];

/** @type {{target: string, from: string, except?: string[], message: string}[]} */
const zones = [];
for (const target of capabilities) {
  for (const from of capabilities) {
    if (from === target) continue;
    zones.push({
      target: `./src/${target}`,
      from: `./src/${from}`,
      except: ['./index.ts'],
      message: `import src/${from} only through its index.ts (public surface)`,
    });
  }
}
// core is the floor of the house: it imports no capability at all.
zones.push({
  target: './src/core',
  from: './src',
  except: ['./core'],
  message: 'core/ imports no capability',
});
// Browser code never reaches into the server.
zones.push({
  target: './src/sdk',
  from: './src',
  except: ['./sdk'],
  message: 'the browser SDK is self-contained (no server code, no runtime deps)',
});

const brokerClients = ['amqplib', 'kafkajs', 'ioredis', 'pg'];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      'bench/results/**',
      'web/**/*.min.js',
      'coverage/**',
      '.scratch*/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'bench/*.js', 'scripts/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver': { node: true },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'import-x/no-cycle': ['error', { maxDepth: 8 }],
      'import-x/no-restricted-paths': ['error', { zones }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'use an `as const` object and a derived union instead of enum' },
        { selector: 'ExportAllDeclaration', message: 'no wildcard export barrels: export names explicitly' },
      ],
    },
  },
  {
    // Only the entry point and the CLI read the environment; library code takes options.
    files: ['src/**/*.ts'],
    ignores: ['src/main.ts', 'src/cli/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'read process.env only in src/main.ts or src/cli/' },
      ],
    },
  },
  {
    // Only serve/ imports Fastify; only an adapter folder imports its broker client.
    files: ['src/**/*.ts'],
    ignores: ['src/serve/**', 'src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['fastify', '@fastify/*'], message: 'only src/serve/ imports Fastify' },
            { group: brokerClients, message: 'broker clients are loaded only by their adapter folder' },
          ],
        },
      ],
    },
  },
  ...[
    ['src/log/rabbitmq/**', ['kafkajs', 'ioredis', 'pg']],
    ['src/log/kafka/**', ['amqplib', 'ioredis', 'pg']],
    ['src/store/redis/**', ['amqplib', 'kafkajs', 'pg']],
    ['src/store/postgres/**', ['amqplib', 'kafkajs', 'ioredis']],
  ].map(([dir, banned]) => ({
    files: [/** @type {string} */ (dir)],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['fastify', '@fastify/*'], message: 'only src/serve/ imports Fastify' },
            { group: /** @type {string[]} */ (banned), message: 'an adapter uses only its own client' },
          ],
        },
      ],
    },
  })),
  {
    files: ['src/sdk/**/*.ts'],
    ignores: ['src/sdk/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^[^.]', message: 'the SDK runs in browsers: no node:* modules, no runtime dependencies' },
          ],
        },
      ],
    },
  },
  {
    files: ['*.js', '*.config.ts'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Node scripts in JavaScript.
    files: ['bin/**/*.js', 'scripts/**/*.js', 'bench/**/*.js', '*.js'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
