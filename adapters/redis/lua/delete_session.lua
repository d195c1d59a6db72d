-- Delete one session and its index entry.
--
-- KEYS[1] the session hash        KEYS[2] the user's index
-- ARGV[1] session id              ARGV[2] the index member
-- Returns 1 if deleted, 0 if it was already gone.
--
-- Only the session id is checked, not the schema: the caller identified this very session.

if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then
  if redis.call('TYPE', KEYS[2])['ok'] == 'zset' then
    redis.call('ZREM', KEYS[2], ARGV[2])  -- pruned on the way
  end
  return 0
end
if redis.call('HGET', KEYS[1], 'session_id') ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
usable_index(KEYS[2])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
