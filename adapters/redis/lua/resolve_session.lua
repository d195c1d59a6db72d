-- Resolve a request's session in one round trip: read it, touch it if due, and read the
-- user's cached platforms from the same hash slot.
--
-- KEYS[1] the session hash        KEYS[2] the platform cache of the session's routing tag
-- ARGV[1] now (epoch µs)          ARGV[2] touch interval (µs)     ARGV[3] idle timeout (µs)
-- ARGV[4] requested platform id, '' for none
-- ARGV[5] the anonymous policy's idle timeout (µs), for a session without a user
-- KEYS[3] (two-tier storage only) the completeness marker of the session's hash slot
--
-- Returns {'missing', complete} | {'corrupt', raw} | {'ok', session, platforms, last seen
-- before this call} where session is the hash's fields as one JSON object (one string to
-- reply and to decode, instead of two dozen), platforms is read_platforms' answer and complete
-- is 1 if KEYS[3] exists (a miss is then authoritative), else 0. The label that picks the user's cache fields is read from the
-- session hash, so the client needs nothing but the token digest.

local now, interval, idle = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local s, status, flat = read_session(KEYS[1])
if status == 'missing' then
  return {'missing', #KEYS >= 3 and redis.call('EXISTS', KEYS[3]) or 0}
end
if status ~= 'ok' then
  return {status, flat}
end
local seen_before = s.last_seen_at_us
idle = idle_for(s, idle, tonumber(ARGV[5]))
-- An expired session is returned untouched for the caller to judge; a live one is touched
-- only once the interval has passed, so most requests write nothing.
if is_live(s, now, idle) and now - tonumber(s.last_seen_at_us) >= interval then
  if not is_decodable(s, flat) then
    return {'corrupt', flat}
  end
  redis.call('HSET', KEYS[1], 'last_seen_at_us', ARGV[1])
  s.last_seen_at_us = ARGV[1]
  expire_at(KEYS[1], expires_at(s, idle), now)
end
-- pcall: an embedded (fakeredis) cjson raises on bytes that are not UTF-8, where Redis's
-- passes them on for the client to reject; either way the record is corrupt, not a crash.
local encoded_ok, encoded = pcall(cjson.encode, s)
if not encoded_ok then
  return {'corrupt', flat}
end
-- An anonymous session has no user, hence no platforms: nothing to read for it.
local platforms = s.user_label and read_platforms(KEYS[2], s.user_label, s.active_platform_id, ARGV[4]) or {}
return {'ok', encoded, platforms, seen_before}
