-- Mirror a data write the database committed, writing only the keys it changed (see
-- lib_mirror.lua for the rules every mirror write keeps).
--
-- KEYS[1] the session hash        KEYS[2] the digest's tombstone
-- ARGV[1] session id              ARGV[2] the committed version
-- ARGV[3] the committed data's running size (the `data_bytes` field, see write_session_data)
-- ARGV[4] k, the number of fields set; ARGV[5..4+2k] their field/value pairs
-- ARGV[5+2k..] fields deleted
-- Returns {status, last_seen_at_us ('' if none)}, status being 'tombstoned' | 'kept' (Redis
-- has this version or a later one) | 'stale' (Redis lacks the version just before this one:
-- only a put of the whole session can bring it in line) | 'stored'.
--
-- Applying the changed keys to the version just before is exact: Redis held the database's
-- state of that version (touches aside, which live here and are kept).

if redis.call('EXISTS', KEYS[2]) == 1 then
  return {'tombstoned', ''}
end
local head = redis.pcall('HMGET', KEYS[1], 'schema', 'session_id', 'version', 'last_seen_at_us')
if head.err or head[1] ~= SCHEMA or head[2] ~= ARGV[1] or not tonumber(head[3]) then
  return {'stale', ''}
end
local stored, committed = tonumber(head[3]), tonumber(ARGV[2])
if stored >= committed then
  return {'kept', head[4] or ''}
end
if stored ~= committed - 1 then
  return {'stale', ''}
end
local set_count = tonumber(ARGV[4])
local writes = {'version', ARGV[2], 'data_bytes', ARGV[3]}
for i = 5, 4 + 2 * set_count do
  table.insert(writes, ARGV[i])
end
redis.call('HSET', KEYS[1], unpack(writes))
if #ARGV >= 5 + 2 * set_count then
  redis.call('HDEL', KEYS[1], unpack(ARGV, 5 + 2 * set_count))
end
return {'stored', head[4] or ''}
