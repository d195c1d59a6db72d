-- Mirror writes of the two-tier storage (prepended after lib_session by scripts.py).
--
-- In two-tier mode the database arbitrates versions and Redis only mirrors it: `put` writes a
-- whole session the database committed, `forget` removes one and leaves a tombstone. A
-- tombstone (one key per token digest, living as long as the session could have) makes every
-- later put of that digest a no-op, so a refill, the relay or a rewarm that read the database
-- before an end committed can never bring the session back.

local MIRROR_SLICE = 500  -- fields per HSET/HDEL call (see mirror_put)

-- Write the session `fields` (flat name/value list) under `skey` unless a tombstone exists or
-- Redis already holds this version or a later one; the larger last_seen_at of the two wins
-- either way (touches are Redis-only). Maintains the user's index (`ikey`; nil for an
-- anonymous session, which is in none) and both TTLs.
-- Returns {status, last_seen_at_us as now stored ('' if none)} where status is 'tombstoned' |
-- 'kept' | 'expired' | 'stored'.
local function mirror_put(skey, ikey, tkey, now, idle, member, fields)
  if redis.call('EXISTS', tkey) == 1 then
    return {'tombstoned', ''}
  end
  local new = {}
  for i = 1, #fields, 2 do
    new[fields[i]] = fields[i + 1]
  end
  local s, status = read_session(skey)
  if status == 'ok' and tonumber(s.version) >= tonumber(new.version) then
    if tonumber(new.last_seen_at_us) > tonumber(s.last_seen_at_us) then
      redis.call('HSET', skey, 'last_seen_at_us', new.last_seen_at_us)
      s.last_seen_at_us = new.last_seen_at_us
      expire_at(skey, expires_at(s, idle), now)
    end
    return {'kept', s.last_seen_at_us}
  end
  if status == 'ok' and tonumber(s.last_seen_at_us) > tonumber(new.last_seen_at_us) then
    new.last_seen_at_us = s.last_seen_at_us
  end
  if not is_live(new, now, idle) then
    return {'expired', ''}
  end
  -- Over a readable older version only what differs is written (a switch changes two or three
  -- fields of thirteen): one HSET of the changed fields, one HDEL of those the new version no
  -- longer has. Anything else under the key is replaced whole.
  local changed, gone = {}, {}
  if status == 'ok' then
    for name, value in pairs(new) do
      if s[name] ~= value then
        changed[#changed + 1] = name
        changed[#changed + 1] = value
      end
    end
    for name in pairs(s) do
      if new[name] == nil then
        gone[#gone + 1] = name
      end
    end
  else
    redis.call('DEL', skey)
    for name, value in pairs(new) do
      changed[#changed + 1] = name
      changed[#changed + 1] = value
    end
  end
  -- In slices: unpack() of a very long list would overflow Lua's C stack.
  for first = 1, #gone, MIRROR_SLICE do
    redis.call('HDEL', skey, unpack(gone, first, math.min(first + MIRROR_SLICE - 1, #gone)))
  end
  for first = 1, #changed, 2 * MIRROR_SLICE do
    redis.call('HSET', skey, unpack(changed, first, math.min(first + 2 * MIRROR_SLICE - 1, #changed)))
  end
  expire_at(skey, expires_at(new, idle), now)
  if not ikey then
    return {'stored', new.last_seen_at_us}  -- an anonymous session: in no index
  end
  usable_index(ikey)
  redis.call('ZADD', ikey, new.absolute_expires_at_us, member)
  local index_ms = math.ceil((tonumber(new.absolute_expires_at_us) - now) / 1000)
  if redis.call('PTTL', ikey) < index_ms then
    redis.call('PEXPIRE', ikey, string.format('%d', index_ms))
  end
  return {'stored', new.last_seen_at_us}
end

-- Delete the session under `skey`, drop `member` from the index, and leave a tombstone for
-- `tombstone_ms` (the session's remaining absolute lifetime; nothing to guard after that).
local function mirror_forget(skey, ikey, tkey, member, tombstone_ms)
  redis.call('DEL', skey)
  if ikey and redis.call('TYPE', ikey)['ok'] == 'zset' then
    redis.call('ZREM', ikey, member)
  end
  if tonumber(tombstone_ms) > 0 then
    redis.call('SET', tkey, '1', 'PX', tombstone_ms)
  end
end
