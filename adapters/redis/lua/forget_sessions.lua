-- Remove sessions of one user that the database ended, leaving a tombstone for each.
--
-- KEYS[1] the user's index; then per session: its hash, its tombstone (an anonymous
-- session's, in no index: no KEYS[1], so the count of keys is even)
-- ARGV per session: the index member, the tombstone's TTL (ms)
-- Returns how many sessions were forgotten.

local index, first = KEYS[1], 2
if #KEYS % 2 == 0 then
  index, first = nil, 1
end
local count = #ARGV / 2
for i = 1, count do
  local at = first + 2 * (i - 1)
  mirror_forget(KEYS[at], index, KEYS[at + 1], ARGV[2 * i - 1], ARGV[2 * i])
end
return count
