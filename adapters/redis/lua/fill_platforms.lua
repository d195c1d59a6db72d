-- Cache a user's whole platform list, unless an invalidation happened since it was read.
--
-- KEYS[1] the platform cache of the user's routing tag
-- ARGV[1] the user's label        ARGV[2] the generation read before the backing read
-- ARGV[3] TTL of the cache (ms)   ARGV[4] the default platform id, '' for none
-- ARGV[5..] pairs of platform id, record JSON
-- Returns 1 if filled, 0 if refused because the generation moved on.
--
-- The generation check closes the read-through race: a reader that read the database before
-- a change was committed and invalidated would otherwise write the old list back.

local cache, prefix = KEYS[1], ARGV[1] .. ':'
local generation = redis.call('TYPE', cache)['ok'] == 'hash' and redis.call('HGET', cache, prefix .. 'gen') or '0'
if generation ~= ARGV[2] then
  return 0
end
-- Replace the user's previous fields (a platform removed since must not linger).
drop_user_platforms(cache, prefix)
local fields = {prefix .. 'filled', '1', prefix .. 'default', ARGV[4]}
for i = 5, #ARGV, 2 do
  table.insert(fields, prefix .. 'p:' .. ARGV[i])
  table.insert(fields, ARGV[i + 1])
end
redis.call('HSET', cache, unpack(fields))
if redis.call('PTTL', cache) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', cache, ARGV[3])
end
return 1
