-- Forget a user's cached platforms and bump their generation, so a fill that read the
-- database before this invalidation is refused.
--
-- KEYS[1] the platform cache of the user's routing tag
-- ARGV[1] the user's label        ARGV[2] TTL of the cache (ms)
-- Returns the number of fields removed.

local cache, prefix = KEYS[1], ARGV[1] .. ':'
local kind = redis.call('TYPE', cache)['ok']
if kind ~= 'hash' and kind ~= 'none' then
  redis.call('DEL', cache)
end
local stale = {}
for _, field in ipairs(redis.call('HKEYS', cache)) do
  if string.sub(field, 1, #prefix) == prefix and field ~= prefix .. 'gen' then
    table.insert(stale, field)
  end
end
if #stale > 0 then
  redis.call('HDEL', cache, unpack(stale))
end
redis.call('HINCRBY', cache, prefix .. 'gen', 1)
-- The generation must outlive any reader between its read and its fill.
if redis.call('PTTL', cache) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', cache, ARGV[2])
end
return #stale
