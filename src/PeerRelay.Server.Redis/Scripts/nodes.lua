-- Lists the nodes with a live lease and what each last reported (heartbeat.lua).
-- KEYS[1] = P..'nodes'
-- ARGV: 1 P
-- Returns a flat list: node, connections, clients, draining, last seen (Unix ms), node, ...
local out = {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', P .. 'n:' .. node) == 1 then
    local info = redis.call('HMGET', P .. 'ni:' .. node, 'c', 'r', 'd', 's')
    table.insert(out, node)
    for i = 1, 4 do
      table.insert(out, info[i] or '0')
    end
  end
end
return out
