-- Remove sessions of one user that the database ended, leaving a tombstone for each.
--
-- KEYS[1] the user's index; then per session: its hash, its tombstone
-- ARGV per session: the index member, the tombstone's TTL (ms)
-- Returns how many sessions were forgotten.

local count = (#KEYS - 1) / 2
for i = 1, count do
  mirror_forget(KEYS[2 * i], KEYS[1], KEYS[2 * i + 1], ARGV[2 * i - 1], ARGV[2 * i])
end
return count
