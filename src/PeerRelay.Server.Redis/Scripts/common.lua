-- Prepended to every script (RedisScripts.cs). Keys, all in one hash slot (the "{prefix}" tag), P = ARGV[1]:
--   P..'c:'..uuid    hash u (user), n (node), i (node incarnation), c (connection id): who holds the UUID
--   P..'n:'..node    string: the node's incarnation, expiring after node_timeout unless renewed (its lease)
--   P..'nc:'..node   set: the UUIDs the node registered (to sweep them when it dies)
--   P..'u:'..user    set: the UUIDs of a user (max_clients_per_user over the fleet)
--   P..'nodes'       set: every node that registered since it was last swept
local P = ARGV[1]

-- A registration counts only while its node's lease is the one it was made under.
local function alive(node, inc)
  return node and redis.call('GET', P .. 'n:' .. node) == inc
end

-- Removes the registration entry (u, n, i, c) of uuid and its index entries.
local function drop(uuid, entry)
  redis.call('DEL', P .. 'c:' .. uuid)
  redis.call('SREM', P .. 'nc:' .. entry[2], uuid)
  if entry[1] ~= '' then
    redis.call('SREM', P .. 'u:' .. entry[1], uuid)
  end
end

local function entry_of(uuid)
  return redis.call('HMGET', P .. 'c:' .. uuid, 'u', 'n', 'i', 'c')
end
