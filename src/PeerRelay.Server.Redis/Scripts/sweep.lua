-- Removes up to ARGV[2] registrations of each node whose lease has run out; forgets a node once none is left.
-- KEYS[1] = P..'nodes'
-- ARGV: 1 P, 2 batch size
-- Returns {live nodes, registrations removed}.
local live, removed = 0, 0
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', P .. 'n:' .. node) == 1 then
    live = live + 1
  else
    local set = P .. 'nc:' .. node
    for _, uuid in ipairs(redis.call('SPOP', set, tonumber(ARGV[2]))) do
      local e = entry_of(uuid)
      if e[2] == node then
        drop(uuid, e)
        removed = removed + 1
      end
    end
    if redis.call('SCARD', set) == 0 then
      redis.call('SREM', KEYS[1], node)
    end
  end
end
return {live, removed}
