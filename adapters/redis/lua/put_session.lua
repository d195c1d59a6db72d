-- Mirror one session the database committed (see lib_mirror.lua).
--
-- KEYS[1] the session hash        KEYS[2] the user's index        KEYS[3] the digest's tombstone
-- (an anonymous session, in no index: KEYS[1] the session hash, KEYS[2] the tombstone)
-- ARGV[1] now (epoch µs)          ARGV[2] idle timeout (µs)       ARGV[3] the index member
-- ARGV[4..] the session's field/value pairs
-- Returns {status, last_seen_at_us} (see mirror_put).

local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
if #KEYS == 2 then
  return mirror_put(KEYS[1], nil, KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], fields)
end
return mirror_put(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], fields)
