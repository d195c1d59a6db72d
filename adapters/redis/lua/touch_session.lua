-- Record that a session was seen: last_seen moves forward only, the TTL follows it, and a
-- session that is gone stays gone.
--
-- KEYS[1] the session hash
-- ARGV[1] session id              ARGV[2] seen at (epoch µs)      ARGV[3] idle timeout (µs)
-- Returns the raw hash, or false if there is no such session.

local s, status, flat = read_session(KEYS[1])
if status ~= 'ok' or s.session_id ~= ARGV[1] or not is_decodable(s, flat) then
  return false
end
local seen = tonumber(ARGV[2])
if seen > tonumber(s.last_seen_at_us) then
  redis.call('HSET', KEYS[1], 'last_seen_at_us', ARGV[2])
  s.last_seen_at_us = ARGV[2]
  expire_at(KEYS[1], expires_at(s, tonumber(ARGV[3])), seen)
  flat = redis.call('HGETALL', KEYS[1])
end
return flat
