import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normaliseExpectations, runCase, timeline, type SegmentCase } from './cases-harness.js';

const cases = JSON.parse(readFileSync(new URL('../../test/fixtures/segments.cases.json', import.meta.url), 'utf8')) as {
  cases: SegmentCase[];
};

describe('segments.cases.json', () => {
  it('has at least 40 cases with unique names', () => {
    expect(cases.cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.cases.map((c) => c.name)).size).toBe(cases.cases.length);
  });

  for (const testCase of cases.cases) {
    it(testCase.name, async () => {
      const run = await runCase(testCase);
      expect(timeline(run.changes, testCase.expect)).toEqual(normaliseExpectations(testCase.expect));
      if (testCase.late !== undefined) expect(run.late).toBe(testCase.late);
      // Every change id is unique (an idempotency key names one change).
      expect(new Set(run.changes.map((c) => c.id)).size).toBe(run.changes.length);
    });
  }
});
