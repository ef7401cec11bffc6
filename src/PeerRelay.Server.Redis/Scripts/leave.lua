-- A node that stops: gives up its lease (if it is still this incarnation's) so the others sweep what it left.
-- KEYS[1] = P..'n:'..node
-- ARGV: 1 P, 2 incarnation
if redis.call('GET', KEYS[1]) == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
