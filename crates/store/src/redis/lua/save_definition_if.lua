-- Saves one definition (an experiment, or a holdout into the holdouts' hash) only if the definitions version is still the one the caller
-- checked its decision against (a compare-and-set), and bumps it, atomically.
-- KEYS[1] definitions (or holdouts) hash, KEYS[2] version counter; ARGV[1] its key, ARGV[2] spec JSON,
-- ARGV[3] expected version. Returns the new version, or -1 when the version moved.
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[3]) then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return redis.call('INCR', KEYS[2])
