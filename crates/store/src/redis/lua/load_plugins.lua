-- Reads every plugin name, binding and imported digest with the version they belong to,
-- atomically. KEYS[1] plugins hash, KEYS[2] bindings hash, KEYS[3] version counter,
-- KEYS[4] imported-digests hash.
-- Returns {version, {name, sha, ...}, {touchpoint, json, ...}, {key, digest, ...}}.
local version = redis.call('GET', KEYS[3]) or '0'
return {version, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]),
  redis.call('HGETALL', KEYS[4])}
