-- Forget a user's cached platforms and bump their generation, so a fill that read the
-- database before this invalidation is refused.
--
-- KEYS[1] the platform cache of the user's routing tag
-- ARGV[1] the user's label        ARGV[2] TTL of the cache (ms)
-- Returns the number of fields removed.

local cache, prefix = KEYS[1], ARGV[1] .. ':'
local removed = drop_user_platforms(cache, prefix)
redis.call('HINCRBY', cache, prefix .. 'gen', 1)
-- The generation must outlive any reader between its read and its fill.
if redis.call('PTTL', cache) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', cache, ARGV[2])
end
return removed
