/**
 * Redis key layout of one namespace. Every key starts with the hash tag `{<namespace>}:` so the whole
 * namespace maps to one Cluster slot (the commit script touches keys of several families at once) and
 * `SCAN MATCH {<namespace>}:*` finds all of it.
 *
 * - `{ns}:layout`        the layout version ("1"); a store refuses to open another one
 * - `{ns}:v:<key>`       the value of state key `<key>` (msgpack)
 * - `{ns}:keys`          sorted set of every state key, all scored 0, so ZRANGEBYLEX lists them bytewise
 * - `{ns}:epoch`         random id created by the first acquire in an empty namespace; a handle carries
 *                        it with its token, so tokens handed out before a Redis data loss never match
 * - `{ns}:fence:<p>`     partition p's fencing token (INCR by every acquire and release)
 * - `{ns}:owner:<p>`     hash {owner, token, acquiredAtMs|releasedAtMs}, for operators only
 * - `{ns}:cp:<p>`        partition p's checkpoint (msgpack)
 * - `{ns}:oseq:<p>`      the last outbox seq of partition p
 * - `{ns}:outbox:<p>`    stream of outbox records, entry id `<seq>-0`, one field `v` (msgpack)
 */
export const LAYOUT_VERSION = '1';

export interface RedisKeys {
  readonly base: string;
  readonly layout: string;
  readonly index: string;
  readonly epoch: string;
  /** Prefix of value keys; `valuePrefix + key` is the Redis key of state key `key`. */
  readonly valuePrefix: string;
  /** Byte length of `valuePrefix` (the commit script cuts it off to get the index member). */
  readonly valuePrefixBytes: number;
  value(key: string): string;
  fence(partition: number): string;
  owner(partition: number): string;
  checkpoint(partition: number): string;
  outboxSeq(partition: number): string;
  outbox(partition: number): string;
  /** Glob matching every key of the namespace (for `drop`). */
  readonly pattern: string;
}

export function redisKeys(namespace: string): RedisKeys {
  const base = `{${namespace}}:`;
  const valuePrefix = `${base}v:`;
  return Object.freeze({
    base,
    layout: `${base}layout`,
    index: `${base}keys`,
    epoch: `${base}epoch`,
    valuePrefix,
    valuePrefixBytes: Buffer.byteLength(valuePrefix),
    value: (key: string) => valuePrefix + key,
    fence: (p: number) => `${base}fence:${p}`,
    owner: (p: number) => `${base}owner:${p}`,
    checkpoint: (p: number) => `${base}cp:${p}`,
    outboxSeq: (p: number) => `${base}oseq:${p}`,
    outbox: (p: number) => `${base}outbox:${p}`,
    pattern: `${base}*`,
  });
}

const OPEN_BRACKET = Buffer.from('[');
const OPEN_PAREN = Buffer.from('(');
const MAX_BYTE = Buffer.from([0xff]);

/**
 * ZRANGEBYLEX bounds for "keys starting with `prefix`, strictly after `after`". Redis compares members
 * with memcmp, so the bounds are computed on UTF-8 bytes here (not in Lua, whose string comparison
 * follows the server's locale). No UTF-8 string contains the byte 0xFF, so `prefix + 0xFF` is above
 * every key with that prefix.
 */
export function lexRange(prefix: string, after?: string): { min: Buffer | string; max: Buffer | string } {
  const prefixBytes = Buffer.from(prefix);
  let min: Buffer | string;
  if (after !== undefined && Buffer.compare(Buffer.from(after), prefixBytes) >= 0) {
    min = Buffer.concat([OPEN_PAREN, Buffer.from(after)]);
  } else {
    min = prefix === '' ? '-' : Buffer.concat([OPEN_BRACKET, prefixBytes]);
  }
  const max = prefix === '' ? '+' : Buffer.concat([OPEN_PAREN, prefixBytes, MAX_BYTE]);
  return { min, max };
}
