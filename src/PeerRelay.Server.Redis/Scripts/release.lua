-- Releases a UUID if the given connection still holds it: a late release never removes a newer registration.
-- KEYS[1] = P..'c:'..uuid
-- ARGV: 1 P, 2 uuid, 3 node, 4 incarnation, 5 connection id, 6 mode: 'release' (this connection's entry), or
--       'prune' (any entry of this node except this incarnation's connection 5; '' prunes every one)
-- Returns 1 when an entry was removed, else 0.
local uuid, node, inc, conn = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local e = redis.call('HMGET', KEYS[1], 'u', 'n', 'i', 'c')
if e[2] ~= node then
  if ARGV[6] == 'prune' then
    redis.call('SREM', P .. 'nc:' .. node, uuid)
  end
  return 0
end
local mine = e[3] == inc and e[4] == conn
if (ARGV[6] == 'release' and mine) or (ARGV[6] == 'prune' and not mine) then
  drop(uuid, e)
  return 1
end
return 0
