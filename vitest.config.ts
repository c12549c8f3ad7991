import { defineConfig } from 'vitest/config';

/**
 * Three projects (STYLE.md): unit (pure, fast), conformance (one suite per port, run against every
 * adapter), integration (real disk, processes, RabbitMQ/Redis/PostgreSQL/Chromium).
 * File names decide the project: `*.test.ts` unit, `*.conformance.test.ts`, `*.int.test.ts`.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.conformance.test.ts', 'node_modules/**', 'dist/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'conformance',
          include: ['src/**/*.conformance.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['src/**/*.int.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.int.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
