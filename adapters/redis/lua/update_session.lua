-- A versioned, field-level update: compare-and-set on the version, never a resurrection.
--
-- KEYS[1] the session hash
-- ARGV[1] session id              ARGV[2] version read            ARGV[3] the next version
-- ARGV[4] k, the number of fields to set; ARGV[5..4+2k] their field/value pairs
-- ARGV[5+2k..] fields to delete
-- Returns {'missing'} | {'conflict', stored version} | {'ok', raw hash}. The TTL is left as
-- it is: an update changes neither deadline.

local s, status, flat = read_session(KEYS[1])
if status ~= 'ok' or s.session_id ~= ARGV[1] or not is_decodable(s, flat) then
  return {'missing'}
end
if tonumber(s.version) ~= tonumber(ARGV[2]) then
  return {'conflict', s.version}
end
local set_count = tonumber(ARGV[4])
local fields = {'version', ARGV[3]}
for i = 5, 4 + 2 * set_count do
  table.insert(fields, ARGV[i])
end
redis.call('HSET', KEYS[1], unpack(fields))
if #ARGV >= 5 + 2 * set_count then
  redis.call('HDEL', KEYS[1], unpack(ARGV, 5 + 2 * set_count))
end
return {'ok', redis.call('HGETALL', KEYS[1])}
