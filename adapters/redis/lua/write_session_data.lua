-- Write some keys of a session's data, each its own hash field, and nothing else: a key this
-- call does not name stays as stored, so concurrent writes of different keys all survive.
--
-- KEYS[1] the session hash
-- ARGV[1] session id      ARGV[2] the version the caller read, '' for none (the last write
-- of a key wins; with a version, a compare-and-set)        ARGV[3] max bytes of the data
-- ARGV[4] k, the number of keys set; ARGV[5..4+3k] per key set: field, value (canonical
-- JSON), the key's length in bytes; then per key deleted: field, the key's length
-- Returns {'missing'} | {'conflict', stored version} | {'too_large', size} | {'ok', raw hash}.
--
-- Bounded by the keys written, not by the session: the data's size (per key, the key's and
-- its value's lengths, as domain/session_data.py measures it) is kept in the `data_bytes`
-- field, and only the old lengths of the fields written are read (HSTRLEN). The TTL is left
-- as it is.

local head = redis.pcall('HMGET', KEYS[1], 'schema', 'session_id', 'version', 'data_bytes')
if head.err or head[1] ~= SCHEMA or head[2] ~= ARGV[1] or not head[3]
    or not string.match(head[3], '^%d+$') or #head[3] > 17 then
  return {'missing'}  -- gone, another type, another schema, or another session: never created
end
if ARGV[2] ~= '' and tonumber(head[3]) ~= tonumber(ARGV[2]) then
  return {'conflict', head[3]}
end
local size = tonumber(head[4] or '0')
if not size then
  return {'missing'}  -- a size that is no number: a corrupt record, which the client ignores too
end

local function entry(field, key_length)
  local old = redis.call('HSTRLEN', KEYS[1], field)
  -- A stored value is JSON text, never empty: a length of 0 means the key is absent.
  return old > 0 and old + key_length or 0
end

local set_count = tonumber(ARGV[4])
local writes = {'version', string.format('%d', tonumber(head[3]) + 1)}
for i = 5, 4 + 3 * set_count, 3 do
  size = size - entry(ARGV[i], tonumber(ARGV[i + 2])) + #ARGV[i + 1] + tonumber(ARGV[i + 2])
  table.insert(writes, ARGV[i])
  table.insert(writes, ARGV[i + 1])
end
local deletes = {}
for i = 5 + 3 * set_count, #ARGV, 2 do
  size = size - entry(ARGV[i], tonumber(ARGV[i + 1]))
  table.insert(deletes, ARGV[i])
end
if size > tonumber(ARGV[3]) then
  return {'too_large', string.format('%d', size)}
end
table.insert(writes, 'data_bytes')
table.insert(writes, string.format('%d', size))
redis.call('HSET', KEYS[1], unpack(writes))
if #deletes > 0 then
  redis.call('HDEL', KEYS[1], unpack(deletes))
end
return {'ok', redis.call('HGETALL', KEYS[1])}
