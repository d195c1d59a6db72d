-- Delete one session if it has expired at `now`, for the sweeper.
--
-- KEYS[1] the session hash        KEYS[2] the user's index (absent for an anonymous session)
-- ARGV[1] now (epoch µs)          ARGV[2] idle timeout (µs)
-- ARGV[3] the index member        ARGV[4] the user's label, as read by the sweeper ('' for none)
-- Returns 1 if deleted, else 0.

local s, status = read_session(KEYS[1])
if status == 'missing' then
  if KEYS[2] and redis.call('TYPE', KEYS[2])['ok'] == 'zset' then
    redis.call('ZREM', KEYS[2], ARGV[3])
  end
  return 0
end
if status ~= 'ok' or (s.user_label or '') ~= ARGV[4] or is_live(s, tonumber(ARGV[1]), tonumber(ARGV[2])) then
  return 0
end
redis.call('DEL', KEYS[1])
if KEYS[2] then
  usable_index(KEYS[2])
  redis.call('ZREM', KEYS[2], ARGV[3])
end
return 1
