-- Mirror a rotation the database committed: forget the old digest, put the session under the
-- new one, atomically (no reader sees both or neither).
--
-- KEYS[1] the old hash   KEYS[2] the old tombstone   KEYS[3] the new hash   KEYS[4] the new
-- tombstone   KEYS[5] the user's index (absent for an anonymous session)
-- ARGV[1] now (µs)   ARGV[2] idle timeout (µs)   ARGV[3] old member   ARGV[4] old tombstone TTL
-- (ms)   ARGV[5] new member   ARGV[6..] the session's field/value pairs
-- Returns what the put answered.

-- Touches live in Redis only: the old hash may have seen the user later than the database.
local old, old_status = read_session(KEYS[1])
mirror_forget(KEYS[1], KEYS[5], KEYS[2], ARGV[3], ARGV[4])
local fields = {}
for i = 6, #ARGV, 2 do
  local value = ARGV[i + 1]
  if ARGV[i] == 'last_seen_at_us' and old_status == 'ok'
      and tonumber(old.last_seen_at_us) > tonumber(value) then
    value = old.last_seen_at_us
  end
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = value
end
return mirror_put(KEYS[3], KEYS[5], KEYS[4], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[5], fields)
