-- End one session by its id: under the token the caller knows or, if a rotation moved it
-- since, under whichever token the user's index names now.
--
-- KEYS[1] the session hash of the token the caller knows    KEYS[2] the user's index
-- KEYS[3..] the session hashes of the index's members (declared on 'need')
-- ARGV[1] session id    ARGV[2] the member of KEYS[1]    ARGV[3..] the members of KEYS[3..]
-- Returns {'ok', 1} if it deleted the session, {'ok', 0} if no session with that id is left,
-- or {'need', members} when the session is not under a declared key and the index holds a
-- member not declared: the client runs it again declaring them all. The first call declares
-- none, so a logout under the session's current token stays one round trip.
--
-- Only the session id is checked, not the schema: the caller identified this very session.

local function holds(key, id)
  local stored = redis.pcall('HGET', key, 'session_id')  -- another type: an error, not ours
  return type(stored) == 'string' and stored == id
end

local function delete(key, member)
  redis.call('DEL', key)
  usable_index(KEYS[2])
  redis.call('ZREM', KEYS[2], member)
  return {'ok', 1}
end

if holds(KEYS[1], ARGV[1]) then
  return delete(KEYS[1], ARGV[2])
end
local has_index = redis.call('TYPE', KEYS[2])['ok'] == 'zset'
if has_index and redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then
  redis.call('ZREM', KEYS[2], ARGV[2])  -- pruned on the way
end
for i = 3, #KEYS do
  if holds(KEYS[i], ARGV[1]) then
    return delete(KEYS[i], ARGV[i])
  end
end
if not has_index then
  return {'ok', 0}
end
-- Not under any declared key. Rotations keep the index in step with the session (one script
-- renames the hash and swaps the member), so if every member is declared, it is gone.
local declared = {[ARGV[2]] = true}
for i = 3, #ARGV do
  declared[ARGV[i]] = true
end
local members = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, m in ipairs(members) do
  if not declared[m] then
    return {'need', members}
  end
end
return {'ok', 0}
