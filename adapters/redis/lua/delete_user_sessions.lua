-- Delete every session of a user except one, atomically ("log out everywhere").
--
-- KEYS[1] the user's index        KEYS[2..] the members' session hashes
-- ARGV[1] the session id to keep, '' for none
-- ARGV[2..] the index members, in KEYS[2..] order
-- Returns {'need', members} when the index holds a member not declared (a session created
-- since the client read the index: it runs again with it) or {'ok', ended}, ended being a
-- list of {member, raw hash}.
--
-- Unlike eviction, this ends sessions of any schema: logging out everywhere must not spare
-- a session because this code cannot read it. Those are deleted but not returned.

usable_index(KEYS[1])
local key_of = {}
for i = 2, #ARGV do
  key_of[ARGV[i]] = KEYS[i]
end
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, m in ipairs(members) do
  if not key_of[m] then
    return {'need', members}
  end
end
local ended = {}
for i = 2, #ARGV do
  local key, m = KEYS[i], ARGV[i]
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'none' then
    redis.call('ZREM', KEYS[1], m)
  elseif kind ~= 'hash' or redis.call('HGET', key, 'session_id') ~= ARGV[1] then
    local s, status, flat = read_session(key)
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], m)
    if status == 'ok' then
      table.insert(ended, {m, flat})
    end
  end
end
return {'ok', ended}
