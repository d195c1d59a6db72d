-- Store a new session and enforce the per-user limit in the same atomic step.
--
-- KEYS[1] the new session hash    KEYS[2] the user's index (absent for an anonymous session)
-- KEYS[3..] session hashes of the index's members, declared by a retry (see below)
-- ARGV[1] now (epoch µs)          ARGV[2] idle timeout (µs)       ARGV[3] max sessions
-- ARGV[4] the new index member (digest hex)   ARGV[5] its score (absolute deadline, µs)
-- ARGV[6] the session's TTL (ms)  ARGV[7] the index's TTL (ms)
-- ARGV[8] n, the number of declared members; ARGV[9..8+n] those members, in KEYS[3..] order
-- ARGV[9+n..] the session's field/value pairs
--
-- Returns {'exists'} | {'need', members} | {'ok', evicted} where evicted is a list of
-- {member, raw hash}.
--
-- Every key a script touches is declared. When the user may be at the limit, the others'
-- sessions must be read to pick whom to evict, so the script answers 'need' with the index's
-- members, writing nothing, and the client runs it again declaring their keys. Below the
-- limit (almost always) that costs nothing.

local now, idle, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local member, score = ARGV[4], ARGV[5]
local declared_count = tonumber(ARGV[8])
local first_field = 9 + declared_count

if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end
if #KEYS == 1 then
  -- An anonymous session (no index key declared): in no user's index, under no limit.
  redis.call('HSET', KEYS[1], unpack(ARGV, first_field))
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  return {'ok', {}}
end
usable_index(KEYS[2])
-- Members past their absolute deadline are dead whatever else they say.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local members = redis.call('ZRANGE', KEYS[2], 0, -1)

local evicted = {}
if #members >= max then
  local key_of = {}
  for i = 1, declared_count do
    key_of[ARGV[8 + i]] = KEYS[2 + i]
  end
  for _, m in ipairs(members) do
    if not key_of[m] then
      return {'need', members}
    end
  end
  local live = {}
  for _, m in ipairs(members) do
    local s, status, flat = read_session(key_of[m])
    if status == 'missing' then
      redis.call('ZREM', KEYS[2], m)
    elseif status == 'ok' and is_decodable(s, flat) then
      if is_live(s, now, idle) then
        table.insert(live, {seen = tonumber(s.last_seen_at_us), created = tonumber(s.created_at_us),
                            member = m, key = key_of[m], flat = flat})
      else
        -- Expired by the idle timeout but not yet reclaimed by its TTL: pruned, not evicted.
        redis.call('DEL', key_of[m])
        redis.call('ZREM', KEYS[2], m)
      end
    end
  end
  table.sort(live, function(a, b)
    if a.seen ~= b.seen then
      return a.seen < b.seen
    end
    return a.created < b.created
  end)
  for i = 1, #live + 1 - max do
    redis.call('DEL', live[i].key)
    redis.call('ZREM', KEYS[2], live[i].member)
    table.insert(evicted, {live[i].member, live[i].flat})
  end
end

redis.call('HSET', KEYS[1], unpack(ARGV, first_field))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], score, member)
-- The index lives as long as the latest absolute deadline among its members.
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[7]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
end
return {'ok', evicted}
