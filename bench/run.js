// `npm run bench`: runs every benchmark (bench/*.ts) one after the other — or those named on the
// command line — then writes bench/README.md, the table of bench/results/*.json (each figure beside
// its same-run baseline, as a ratio).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();
const selected = wanted.length > 0 ? all.filter((name) => wanted.includes(name)) : all;
let failed = 0;
for (const name of selected) {
  console.log(`\n=== bench: ${name} ===`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(dir, `${name}.ts`)], { stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`bench ${name} failed (exit ${run.status})`);
    failed++;
  }
}

const rows = [];
for (const file of readdirSync(join(dir, 'results'))
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const doc = JSON.parse(readFileSync(join(dir, 'results', file), 'utf8'));
  for (const r of doc.results ?? []) {
    const fmt = (v) =>
      typeof v === 'number'
        ? Math.abs(v) >= 100
          ? Math.round(v).toLocaleString('en-US')
          : Number(v.toPrecision(3)).toString()
        : String(v ?? '');
    rows.push(
      `| ${doc.name} | ${r.metric} | ${fmt(r.value)} ${r.unit ?? ''} | ${fmt(r.baselineValue)} (${r.baseline}) | ${fmt(r.ratio)} | ${r.goal ?? ''} | ${String(doc.date).slice(0, 10)} |`,
    );
  }
}
writeFileSync(
  join(dir, 'README.md'),
  [
    '# Benchmark results',
    '',
    'Written by `npm run bench` from `bench/results/*.json`. Every figure is measured beside a baseline in the',
    'same run, on the machine that ran it (2 cores here); ratios are steadier than absolute numbers when the',
    'machine is shared. Re-run one benchmark with `npm run bench -- <name>`.',
    '',
    '| bench | metric | value | baseline (same run) | ratio | goal | date |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
console.log(`\nwrote bench/README.md (${rows.length} figures)`);
process.exit(failed > 0 ? 1 : 0);
