import { createEmbeddedEventLog } from '/work/main/src/log/embedded/embedded-event-log.ts';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dir = mkdtempSync(join(tmpdir(), 'large-'));
const log = await createEmbeddedEventLog({ dir, partitionCount: 4, segmentBytes: 256 * 1024 });
const entries = [
  { key: 'empty', value: new Uint8Array(0), timestampMs: 0 },
  { key: 'large', value: new Uint8Array(1_000_000).fill(7), timestampMs: 1.5 },
];
const pos = await log.append(entries);
console.log(pos);
for (const p of [0,1,2,3]) for (const f of readdirSync(join(dir, 'p000'+p))) console.log(p, f, statSync(join(dir, 'p000'+p, f)).size);
for (const { partition, offset } of pos) {
  const r = await log.openReader(partition, offset);
  try { const recs = await r.read({ maxRecords: 1, waitMs: 100 }); console.log(partition, offset, recs.map(x => [x.key, x.value.length])); } catch (e) { console.log('ERR', e); }
}
await log.close();
