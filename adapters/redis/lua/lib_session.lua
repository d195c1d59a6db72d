-- Shared by every script that reads or writes a session hash (prepended by scripts.py).
--
-- A session hash this code can read has the schema version below and every required field
-- with the right shape (read_session; is_decodable adds what only a write needs to know). Anything else under a session key (another schema version, garbage
-- written by someone else, another Redis type) is reported as 'corrupt': scripts never write
-- to it, never count it, and never prune it from an index, so a newer deployment's sessions
-- survive an older one running next to it during a rolling upgrade.

local SCHEMA = '1'

-- The session at `key` as a table of fields, a status ('ok', 'missing', 'corrupt') and the
-- raw HGETALL reply (for the client to decode).
local function read_session(key)
  -- One call, not TYPE then HGETALL: another type under the key is a WRONGTYPE error, caught.
  local flat = redis.pcall('HGETALL', key)
  if flat.err then
    return nil, 'corrupt', {}
  end
  if #flat == 0 then
    return nil, 'missing', {}  -- HGETALL of a key that does not exist: an empty hash is none
  end
  local s = {}
  for i = 1, #flat, 2 do
    s[flat[i]] = flat[i + 1]
  end
  -- An anonymous session has neither a user id nor a label (it is in no user's index); a hash
  -- with one and not the other is no session at all.
  if s.schema ~= SCHEMA or not s.session_id or (not s.user_id) ~= (not s.user_label)
      or not tonumber(s.created_at_us) or not tonumber(s.last_seen_at_us)
      or not tonumber(s.absolute_expires_at_us) or not tonumber(s.version) then
    return nil, 'corrupt', flat
  end
  return s, 'ok', flat
end

-- Whether `text` is valid UTF-8 (as Python's strict decoder sees it: no overlong forms, no
-- surrogates, nothing above U+10FFFF).
local function is_utf8(text)
  if not string.find(text, '[\128-\255]') then
    return true  -- plain ASCII, the usual case, checked at C speed
  end
  local i, n = 1, #text
  while i <= n do
    local c = string.byte(text, i)
    local length, low, high = 1, 0x80, 0xBF
    if c < 0x80 then
      length = 1
    elseif c >= 0xC2 and c <= 0xDF then
      length = 2
    elseif c >= 0xE0 and c <= 0xEF then
      length = 3
      if c == 0xE0 then low = 0xA0 elseif c == 0xED then high = 0x9F end
    elseif c >= 0xF0 and c <= 0xF4 then
      length = 4
      if c == 0xF0 then low = 0x90 elseif c == 0xF4 then high = 0x8F end
    else
      return false
    end
    for j = i + 1, i + length - 1 do
      local b = string.byte(text, j)
      if not b or b < low or b > high then
        return false
      end
      low, high = 0x80, 0xBF
    end
    i = i + length
  end
  return true
end

-- The checks the client's decoder makes beyond read_session's, run before a script writes to a
-- session (or evicts it), so that it never writes to one the client would call not found.
local function is_decodable(s, flat)
  for _, name in ipairs({'created_at_us', 'last_seen_at_us', 'absolute_expires_at_us', 'version'}) do
    if not string.match(s[name], '^%-?%d+$') or #s[name] > 17 then
      return false
    end
  end
  if s.session_id == '' or s.user_id == '' or not s.csrf_token or s.csrf_token == ''
      or not s.attributes or not string.match(s.attributes, '^%s*{') then
    return false
  end
  if not pcall(cjson.decode, s.attributes) then
    return false
  end
  if s.data_bytes and not string.match(s.data_bytes, '^%d+$') then
    return false
  end
  -- Each data key's value is JSON text (fields 'd:' + key; see session_codec.py).
  for i = 1, #flat, 2 do
    if string.sub(flat[i], 1, 2) == 'd:' and not pcall(cjson.decode, flat[i + 1]) then
      return false
    end
  end
  for i = 1, #flat do
    if not is_utf8(flat[i]) then
      return false
    end
  end
  return true
end

-- The idle timeout that applies to `s`: scripts that may meet an anonymous session are given
-- the anonymous policy's too (shorter); without it, the one timeout applies to every session.
local function idle_for(s, idle_us, anonymous_idle_us)
  if not s.user_id and anonymous_idle_us then
    return anonymous_idle_us
  end
  return idle_us
end

-- When the session ends if it is not seen again: the earlier of its idle and absolute deadlines.
local function expires_at(s, idle_us)
  return math.min(tonumber(s.last_seen_at_us) + idle_us, tonumber(s.absolute_expires_at_us))
end

local function is_live(s, now_us, idle_us)
  return now_us < expires_at(s, idle_us)
end

-- Set the key's TTL to end at `expiry_us`, measured from `now_us` (the caller's clock, not
-- Redis TIME). A deadline already passed leaves the TTL alone: the key is on its way out, and
-- a PEXPIRE of zero would delete it, which only a delete may do.
local function expire_at(key, expiry_us, now_us)
  local ms = math.ceil((expiry_us - now_us) / 1000)
  if ms > 0 then
    redis.call('PEXPIRE', key, string.format('%d', ms))
  end
end

-- An index that is not a sorted set is garbage in our namespace; it is derived data, so it is
-- dropped rather than allowed to make every write of the user fail with WRONGTYPE.
local function usable_index(key)
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'zset' and kind ~= 'none' then
    redis.call('DEL', key)
  end
end
