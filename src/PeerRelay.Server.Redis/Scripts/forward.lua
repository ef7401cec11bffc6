-- Publishes a message to the node that holds a UUID, if the sender's user holds it and its node is alive.
-- KEYS[1] = P..'c:'..uuid
-- ARGV: 1 P, 2 sender's user, 3 envelope, 4 'PUBLISH' or 'SPUBLISH' (Redis Cluster)
-- Returns -1 when no live registration of that user holds the UUID, else the number of subscribers that got it
-- (0: the node's subscription is gone, e.g. the process died before its lease ran out).
local e = redis.call('HMGET', KEYS[1], 'u', 'n', 'i')
if not e[1] or e[1] ~= ARGV[2] or not alive(e[2], e[3]) then
  return -1
end
return redis.call(ARGV[4], P .. 'ch:' .. e[2], ARGV[3])
