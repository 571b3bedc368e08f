-- Records a unit's first exposure to an experiment, atomically; first exposure wins.
-- KEYS[1] unit hash ({exp:KEY}:p1:u:UNIT), KEYS[2] counters hash ({exp:KEY}:p1:agg)
-- ARGV[1] variant index, ARGV[2] exposure ms, ARGV[3] plugin version ('' = none),
-- ARGV[4] max distinct values per segment attribute, ARGV[5] the phase's key prefix
-- ({exp:KEY}:p1:), ARGV[6] the exposure's hour since the epoch, ARGV[7] the number k of
-- CUPED covariates, then k triples: attribute, the attribute as it appears in keys (escaped:
-- no ':'), x ('' = missing); then segment triples: attribute, the attribute in keys, value.
-- Slice keys share the experiment's hash tag, so they live in the same cluster slot.
-- Returns {variant, exposure ms, 1 if this call created the exposure else 0}.
-- Increments are passed as the string '1': a Lua number argument is formatted with '%.14g'
-- (glibc's float printing) on every call, a few per cent of the script's time.
local existing = redis.call('HMGET', KEYS[1], 'v', 't')
if existing[1] then
  return {existing[1], existing[2], 0}
end
local variant, max_values, prefix = ARGV[1], tonumber(ARGV[4]), ARGV[5]
local covariate_count = tonumber(ARGV[7])
local first_segment = 8 + 3 * covariate_count

-- The slice a value counts in: a known value, a new one while the attribute has room, else
-- '(other)'. '(none)' and '(other)' are slices of their own and take no room.
local function slice_of(attribute, value)
  if value == '(none)' or value == '(other)' then return value end
  local known = prefix .. 'segvals:' .. attribute
  if redis.call('SISMEMBER', known, value) == 1 then return value end
  if redis.call('SCARD', known) < max_values then
    redis.call('SADD', known, value)
    return value
  end
  return '(other)'
end

-- Every counters hash the unit counts in: the phase's, then one per slice.
local counters = {KEYS[2]}
local fields = {'v', variant, 't', ARGV[2]}
local function keep_slice(attribute, in_key, value)
  local slice = slice_of(attribute, value)
  fields[#fields + 1] = 'g:' .. attribute
  fields[#fields + 1] = slice
  local key = prefix .. 'seg:' .. in_key .. ':' .. slice
  counters[#counters + 1] = key
  redis.call('HINCRBY', key, variant .. ':u', '1')
end

-- The plugin version is kept as the built-in `plugin_version` segment.
if ARGV[3] ~= '' then
  keep_slice('plugin_version', 'plugin_version', ARGV[3])
end
for i = first_segment, #ARGV - 2, 3 do
  keep_slice(ARGV[i], ARGV[i + 1], ARGV[i + 2])
end

-- CUPED: a number x is kept with the unit (only when not 0: an absent field reads back as 0)
-- and counted in every counters hash the unit counts in (units with a value, Σx, Σx²); a
-- missing one is left out (missing = units - n, read back in aggregates.rs).
for i = 8, first_segment - 1, 3 do
  local raw = ARGV[i + 2]
  if raw ~= '' then
    local base = variant .. ':c:' .. ARGV[i + 1] .. ':'
    local x = tonumber(raw)
    for _, key in ipairs(counters) do
      redis.call('HINCRBY', key, base .. 'n', '1')
    end
    if x ~= 0 then
      fields[#fields + 1] = 'c:' .. ARGV[i]
      fields[#fields + 1] = raw
      local square = string.format('%.17g', x * x)
      for _, key in ipairs(counters) do
        redis.call('HINCRBYFLOAT', key, base .. 's', raw)
        redis.call('HINCRBYFLOAT', key, base .. 'q', square)
      end
    end
  end
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HINCRBY', KEYS[2], variant .. ':u', '1')
redis.call('HINCRBY', prefix .. 'exph', variant .. ':' .. ARGV[6], '1')
return {variant, ARGV[2], 1}
