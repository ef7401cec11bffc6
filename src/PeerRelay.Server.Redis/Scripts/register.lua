-- Registers a UUID atomically (ownership check and claim in one step; issue 14).
-- KEYS[1] = P..'c:'..uuid
-- ARGV: 1 P, 2 uuid, 3 user, 4 node, 5 incarnation, 6 connection id, 7 max clients per user (0: none),
--       8 the UUID this connection held before ('' for none), 9 mode: 'claim', or 'reclaim' (after Redis came back:
--       never take over; a live owner elsewhere wins)
-- Returns {'ok'} | {'repeat'} | {'took', old node, old connection id} | {'foreign'} | {'limit'} | {'lease'} | {'conflict'}
local uuid, user, node, inc, conn = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('GET', P .. 'n:' .. node) ~= inc then
  return {'lease'}
end

local cur = redis.call('HMGET', KEYS[1], 'u', 'n', 'i', 'c')
local took = nil
if cur[1] then
  if alive(cur[2], cur[3]) then
    if cur[1] ~= user then
      return {'foreign'}
    end
    if cur[2] == node and cur[3] == inc and cur[4] == conn then
      return {'repeat'}
    end
    if ARGV[9] == 'reclaim' then
      return {'conflict'}
    end
    took = {cur[2], cur[4]}
  end
end

local limit = tonumber(ARGV[7])
if limit > 0 and user ~= '' and not took and ARGV[8] == '' then
  local key = P .. 'u:' .. user
  if redis.call('SCARD', key) >= limit then
    -- Count only live registrations; entries of dead nodes are pruned on the way.
    local live = 0
    for _, other in ipairs(redis.call('SMEMBERS', key)) do
      local e = entry_of(other)
      if e[1] == user and alive(e[2], e[3]) then
        live = live + 1
      else
        redis.call('SREM', key, other)
      end
    end
    if live >= limit then
      return {'limit'}
    end
  end
end

if cur[1] then
  drop(uuid, cur)
end

if ARGV[8] ~= '' and ARGV[8] ~= uuid then
  local before = entry_of(ARGV[8])
  if before[2] == node and before[3] == inc and before[4] == conn then
    drop(ARGV[8], before)
  end
end

redis.call('HSET', KEYS[1], 'u', user, 'n', node, 'i', inc, 'c', conn)
redis.call('SADD', P .. 'nc:' .. node, uuid)
if user ~= '' then
  redis.call('SADD', P .. 'u:' .. user, uuid)
end
if took then
  return {'took', took[1], took[2]}
end
return {'ok'}
