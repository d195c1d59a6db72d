-- Shared by the scripts that read a user's cached platforms (prepended by scripts.py).
--
-- The cache of one routing tag is one hash; a user's fields are prefixed with their label:
--   <label>:filled   '1' once the user's whole platform list was cached
--   <label>:gen      bumped by every invalidation, so a fill that raced one is refused
--   <label>:default  the id of the user's default platform, '' for none
--   <label>:p:<id>   one platform's display fields, as JSON

-- {filled, generation, default_id, active, default, requested}; false where absent.
-- The bookkeeping fields and the records asked for by id come in one HMGET; the default's
-- record costs a second call only when it is not the active one (usually it is).
local function read_platforms(cache, label, active_id, requested_id)
  local prefix = label .. ':'
  local fields = {prefix .. 'filled', prefix .. 'gen', prefix .. 'default'}
  local active_at, requested_at
  if active_id and active_id ~= '' then
    table.insert(fields, prefix .. 'p:' .. active_id)
    active_at = #fields
  end
  if requested_id and requested_id ~= '' then
    table.insert(fields, prefix .. 'p:' .. requested_id)
    requested_at = #fields
  end
  local found = redis.pcall('HMGET', cache, unpack(fields))
  if found.err then
    return {false, '0', false, false, false, false}  -- not a hash: garbage, read as a miss
  end
  local active = active_at and found[active_at] or false
  local default_id, default = found[3], false
  if default_id and default_id ~= '' then
    if default_id == active_id then
      default = active
    else
      default = redis.call('HGET', cache, prefix .. 'p:' .. default_id)
    end
  end
  return {found[1], found[2] or '0', default_id, active, default, requested_at and found[requested_at] or false}
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
