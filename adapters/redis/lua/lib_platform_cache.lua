-- Shared by the scripts that read a user's cached platforms (prepended by scripts.py).
--
-- The cache of one routing tag is one hash; a user's fields are prefixed with their label:
--   <label>:filled   '1' once the user's whole platform list was cached
--   <label>:gen      bumped by every invalidation, so a fill that raced one is refused
--   <label>:default  the id of the user's default platform, '' for none
--   <label>:p:<id>   one platform's display fields, as JSON

-- {filled, generation, default_id, active, default, requested}; false where absent.
local function read_platforms(cache, label, active_id, requested_id)
  if redis.call('TYPE', cache)['ok'] ~= 'hash' then
    return {false, '0', false, false, false, false}
  end
  local prefix = label .. ':'
  local found = redis.call('HMGET', cache, prefix .. 'filled', prefix .. 'gen', prefix .. 'default')
  local function record(platform_id)
    if platform_id and platform_id ~= '' then
      return redis.call('HGET', cache, prefix .. 'p:' .. platform_id)
    end
    return false
  end
  return {found[1], found[2] or '0', found[3], record(active_id), record(found[3]), record(requested_id)}
end

-- Make sure the cache is a hash (anything else in our namespace is garbage, and a cache may
-- always be dropped), then delete the user's fields but their generation; returns how many.
local function drop_user_platforms(cache, prefix)
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
  return #stale
end
