-- Reads every definition together with the version it belongs to, atomically.
-- KEYS[1] definitions hash, KEYS[2] version counter, KEYS[3] holdouts hash.
-- Returns {version, {key1, json1, key2, json2, ...}, {holdout key1, json1, ...}}.
local version = redis.call('GET', KEYS[2]) or '0'
return {version, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[3])}
