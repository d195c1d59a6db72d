-- Move a session to a new token digest and a new CSRF token, versioned like an update; the
-- old digest stops resolving in the same step.
--
-- KEYS[1] the session hash        KEYS[2] the new session hash    KEYS[3] the user's index
-- ARGV[1] session id              ARGV[2] version read            ARGV[3] the next version
-- ARGV[4] the old index member    ARGV[5] the new index member    ARGV[6] the new CSRF token
-- ARGV[7] (an anonymous session's own index, which its first rotation creates) the index's TTL
-- Returns {'missing'} | {'conflict', stored version} | {'taken'} | {'ok', raw hash}.

local s, status, flat = read_session(KEYS[1])
if status ~= 'ok' or s.session_id ~= ARGV[1] or not is_decodable(s, flat) then
  return {'missing'}
end
if tonumber(s.version) ~= tonumber(ARGV[2]) then
  return {'conflict', s.version}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {'taken'}
end
usable_index(KEYS[3])
redis.call('RENAME', KEYS[1], KEYS[2])  -- RENAME carries the TTL over
redis.call('HSET', KEYS[2], 'version', ARGV[3], 'csrf_token', ARGV[6])
redis.call('ZREM', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[3], s.absolute_expires_at_us, ARGV[5])
if ARGV[7] and redis.call('PTTL', KEYS[3]) < tonumber(ARGV[7]) then
  redis.call('PEXPIRE', KEYS[3], ARGV[7])
end
return {'ok', redis.call('HGETALL', KEYS[2])}
