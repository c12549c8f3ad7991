/**
 * The Lua scripts of the Redis StateStore. A script runs atomically: no other command interleaves, and
 * its effects are replicated and appended to the AOF as one MULTI/EXEC block. Each starts with a
 * shebang (Redis ≥ 7), which makes Redis refuse the whole script up front when it is out of memory
 * instead of failing at its first write, so a commit is never half applied for lack of memory.
 *
 * Lines ending in `-- index` maintain the lexicographic index; `bench/state-redis.ts` removes them to
 * measure what the index costs.
 */

/**
 * Commit of one step of a partition owner. Refuses (returns {0, current token}) and writes nothing when
 * the caller's token or epoch is not the partition's current one; otherwise applies puts, then deletes,
 * appends the outbox records with the next dense seqs, writes the checkpoint, and returns {1, last seq}.
 *
 * KEYS: 1 fence, 2 checkpoint, 3 outbox seq, 4 outbox stream, 5 index, 6 epoch,
 *       7..6+np value keys to put, 7+np..6+np+nd value keys to delete
 * ARGV: 1 token, 2 np, 3 nd, 4 no, 5 byte length of the value-key prefix, 6 checkpoint, 7 epoch,
 *       8..7+np put values, 8+np..7+np+no outbox records
 */
export const COMMIT_LUA = `#!lua
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] or redis.call('GET', KEYS[6]) ~= ARGV[7] then
  return {0, current or '0'}
end
local np, nd, no = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local skip = tonumber(ARGV[5]) + 1
local index = KEYS[5]
-- Batched MSET/ZADD (DEL/ZREM) of up to 500 keys per call: half the script time of one call per key.
local i = 1
while i <= np do
  local last = math.min(i + 499, np)
  local kv, members = {}, {}
  for j = i, last do
    local key = KEYS[6 + j]
    kv[#kv + 1] = key
    kv[#kv + 1] = ARGV[7 + j]
    members[#members + 1] = 0
    members[#members + 1] = string.sub(key, skip)
  end
  redis.call('MSET', unpack(kv))
  redis.call('ZADD', index, unpack(members)) -- index
  i = last + 1
end
i = 1
while i <= nd do
  local last = math.min(i + 499, nd)
  local names, members = {}, {}
  for j = i, last do
    local key = KEYS[6 + np + j]
    names[#names + 1] = key
    members[#members + 1] = string.sub(key, skip)
  end
  redis.call('DEL', unpack(names))
  redis.call('ZREM', index, unpack(members)) -- index
  i = last + 1
end
local seq = 0
if no > 0 then
  seq = redis.call('INCRBY', KEYS[3], no)
  for j = 1, no do
    redis.call('XADD', KEYS[4], string.format('%d-0', seq - no + j), 'v', ARGV[7 + np + j])
  end
else
  seq = tonumber(redis.call('GET', KEYS[3]) or '0')
end
redis.call('SET', KEYS[2], ARGV[6])
return {1, seq}
`;

/**
 * Makes the caller the partition's owner: the token only ever grows (INCR), so every earlier owner's
 * commits are refused from now on. The namespace epoch is created by the first acquire after the
 * namespace was empty (first use, or a Redis that lost its data): tokens restart at 1 then, and the new
 * epoch keeps a handle from before the loss from matching a new token.
 * KEYS: 1 fence, 2 owner, 3 epoch. ARGV: 1 owner name, 2 a fresh random epoch. Returns {token, epoch}.
 */
export const ACQUIRE_LUA = `#!lua
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[3], epoch)
end
local token = redis.call('INCR', KEYS[1])
local now = redis.call('TIME')
redis.call('HSET', KEYS[2], 'owner', ARGV[1], 'token', token, 'epoch', epoch,
  'acquiredAtMs', string.format('%d', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)))
return {token, epoch}
`;

/**
 * Gives ownership up: when the caller still holds the partition, bumps the token (its handle is fenced
 * off too, so a commit after release cannot land) and clears the owner. KEYS: 1 fence, 2 owner, 3 epoch.
 * ARGV: 1 token, 2 epoch. Returns 1 when released, 0 when someone else already owned it.
 */
export const RELEASE_LUA = `#!lua
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[3]) ~= ARGV[2] then
  return 0
end
local token = redis.call('INCR', KEYS[1])
local now = redis.call('TIME')
redis.call('HSET', KEYS[2], 'owner', '', 'token', token,
  'releasedAtMs', string.format('%d', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)))
return 1
`;

/**
 * A prefix scan as one atomic read: the keys from the index (bytewise order) and their values from the
 * same snapshot. KEYS: 1 index. ARGV: 1 min, 2 max (ZRANGEBYLEX bounds), 3 limit, 4 value-key prefix.
 * Returns a flat array key, value, key, value, …
 */
export const SCAN_LUA = `#!lua flags=no-writes
local keys = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
local n = #keys
local i = 1
while i <= n do
  local last = math.min(i + 499, n)
  local names = {}
  for j = i, last do names[#names + 1] = ARGV[4] .. keys[j] end
  local values = redis.call('MGET', unpack(names))
  for j = i, last do
    local value = values[j - i + 1]
    if value then
      out[#out + 1] = keys[j]
      out[#out + 1] = value
    end
  end
  i = last + 1
end
return out
`;
