-- Reads every definition together with the version it belongs to, atomically.
-- KEYS[1] definitions hash, KEYS[2] version counter.
-- Returns {version, {key1, json1, key2, json2, ...}}.
local version = redis.call('GET', KEYS[2]) or '0'
return {version, redis.call('HGETALL', KEYS[1])}
