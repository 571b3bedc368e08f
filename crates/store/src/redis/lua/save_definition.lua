-- Saves one definition (an experiment, or a holdout) and bumps the definitions version,
-- atomically.
-- KEYS[1] definitions (or holdouts) hash, KEYS[2] version counter; ARGV[1] key, ARGV[2] spec JSON.
-- Returns the new version.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return redis.call('INCR', KEYS[2])
