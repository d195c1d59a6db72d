-- Drop index members whose session hash is gone (reclaimed by its TTL): lazy pruning.
--
-- KEYS[1] the user's index        KEYS[2..] session hashes found missing by a read
-- ARGV[1..] their members, in KEYS[2..] order
-- Returns the number of members removed. A member whose hash exists again is kept.

if redis.call('TYPE', KEYS[1])['ok'] ~= 'zset' then
  return 0
end
local removed = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
