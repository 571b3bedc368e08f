-- Records a unit's first exposure to an experiment, atomically; first exposure wins.
-- KEYS[1] unit hash ({exp:KEY}:p1:u:UNIT), KEYS[2] counters hash ({exp:KEY}:p1:agg)
-- ARGV[1] variant index, ARGV[2] exposure ms, ARGV[3] plugin version ('' = none),
-- ARGV[4..] segment attribute / value pairs.
-- Returns {variant, exposure ms, 1 if this call created the exposure else 0}.
local existing = redis.call('HMGET', KEYS[1], 'v', 't')
if existing[1] then
  return {existing[1], existing[2], 0}
end
local fields = {'v', ARGV[1], 't', ARGV[2]}
if ARGV[3] ~= '' then
  fields[#fields + 1] = 'pv'
  fields[#fields + 1] = ARGV[3]
end
for i = 4, #ARGV - 1, 2 do
  fields[#fields + 1] = 'g:' .. ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':u', 1)
return {ARGV[1], ARGV[2], 1}
