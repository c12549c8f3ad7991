import { hash32 } from '../../core/index.js';

/** murmur3's finaliser: spreads the bits of a 32-bit value (FNV-1a alone is too regular for rankings). */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Rendezvous weight of (member, partition). */
function weight(memberHash: number, partition: number): number {
  return mix(memberHash ^ Math.imul(partition + 1, 0x9e3779b1));
}

/**
 * Which partitions each member runs: a pure function of the member set (order and duplicates do not
 * matter), so every worker that sees the same members computes the same assignment without talking
 * to the others.
 *
 * Balanced rendezvous hashing: every member runs ⌊P/N⌋ or ⌈P/N⌉ partitions (the members that take one
 * more are chosen by a hash of their id), and each partition goes to the member that ranks it highest
 * among those with room, taking (partition, member) pairs from the highest weight down. Plain
 * rendezvous hashing moves the fewest partitions but can leave a member idle with few partitions per
 * member (4 partitions, 3 workers); capping the load keeps it balanced while most partitions stay
 * where they were when a member joins or leaves (the unit tests measure it).
 */
export function assignPartitions(members: readonly string[], partitionCount: number): Map<string, number[]> {
  const ids = [...new Set(members)].sort();
  const result = new Map<string, number[]>(ids.map((id) => [id, []]));
  if (ids.length === 0 || partitionCount <= 0) return result;
  const hashes = ids.map((id) => hash32(id));
  const base = Math.floor(partitionCount / ids.length);
  const extra = partitionCount % ids.length;
  const byCapacityRank = ids
    .map((id, i) => ({ i, rank: mix(hashes[i]! ^ 0x5bd1e995) }))
    .sort((a, b) => b.rank - a.rank || ids[a.i]!.localeCompare(ids[b.i]!));
  const room = new Array<number>(ids.length).fill(base);
  for (let k = 0; k < extra; k++) room[byCapacityRank[k]!.i]!++;

  const pairs: { p: number; i: number; w: number }[] = [];
  for (let p = 0; p < partitionCount; p++) {
    for (let i = 0; i < ids.length; i++) pairs.push({ p, i, w: weight(hashes[i]!, p) });
  }
  pairs.sort((a, b) => b.w - a.w || a.p - b.p || a.i - b.i);
  const taken = new Array<boolean>(partitionCount).fill(false);
  let left = partitionCount;
  for (const { p, i } of pairs) {
    if (taken[p] || room[i] === 0) continue;
    taken[p] = true;
    room[i]!--;
    result.get(ids[i]!)!.push(p);
    if (--left === 0) break;
  }
  for (const list of result.values()) list.sort((a, b) => a - b);
  return result;
}
