/**
 * Stable 32-bit hash (FNV-1a over UTF-16 code units). Partition assignment must agree between every
 * collector, worker and adapter, in every process and version: never change this function.
 */
export function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The partition a profile key belongs to. */
export function partitionFor(key: string, partitionCount: number): number {
  return hash32(key) % partitionCount;
}
