-- Applies a batch of plugin changes only if the definitions version is still the one the
-- caller checked them against (a compare-and-set), drops modules no name refers to any more,
-- and bumps the version, atomically: every server sees the whole batch or none of it.
-- KEYS[1] plugins hash (name -> sha256), KEYS[2] bindings hash, KEYS[3] version counter,
-- KEYS[4] imported-digests hash.
-- ARGV[1] expected version, ARGV[2] module key prefix, then one quadruple per change:
--   'upload', name, sha256, module bytes     (then 'imported', 'plugin:NAME', digest, '')
--   'remove', name, '', ''
--   'bind', touchpoint, binding JSON, ''     (then 'imported', 'binding:TP', digest, '')
--   'unbind', touchpoint, '', ''
-- Returns the new version, or -1 when the version moved (nothing written).
local current = tonumber(redis.call('GET', KEYS[3]) or '0')
if current ~= tonumber(ARGV[1]) then
  return -1
end
local prefix = ARGV[2]
local replaced = {}
for i = 3, #ARGV, 4 do
  local op, a, b, c = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if op == 'upload' then
    local previous = redis.call('HGET', KEYS[1], a)
    if previous then replaced[previous] = true end
    redis.call('SET', prefix .. b, c)
    redis.call('HSET', KEYS[1], a, b)
  elseif op == 'remove' then
    local previous = redis.call('HGET', KEYS[1], a)
    if previous then replaced[previous] = true end
    redis.call('HDEL', KEYS[1], a)
  elseif op == 'bind' then
    redis.call('HSET', KEYS[2], a, b)
  elseif op == 'unbind' then
    redis.call('HDEL', KEYS[2], a)
  elseif op == 'imported' then
    redis.call('HSET', KEYS[4], a, b)
  end
end
local live = {}
for _, sha in ipairs(redis.call('HVALS', KEYS[1])) do
  live[sha] = true
end
for sha, _ in pairs(replaced) do
  if not live[sha] then
    redis.call('DEL', prefix .. sha)
  end
end
return redis.call('INCR', KEYS[3])
