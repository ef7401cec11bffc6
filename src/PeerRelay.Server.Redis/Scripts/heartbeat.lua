-- Renews this node's lease.
-- KEYS[1] = P..'n:'..node
-- ARGV: 1 P, 2 node, 3 incarnation, 4 node_timeout in milliseconds, 5 connections, 6 registered clients,
--       7 draining (0/1), 8 now in Unix milliseconds (what the admin API shows of this node: P..'ni:'..node)
-- Returns 1 renewed, 2 created (it had expired, or Redis lost it), 0 another process holds this node id.
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[3] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
redis.call('SADD', P .. 'nodes', ARGV[2])
redis.call('HSET', P .. 'ni:' .. ARGV[2], 'c', ARGV[5], 'r', ARGV[6], 'd', ARGV[7], 's', ARGV[8])
redis.call('PEXPIRE', P .. 'ni:' .. ARGV[2], ARGV[4])
if cur then
  return 1
end
return 2
