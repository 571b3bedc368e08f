-- Records first exposures of units to one experiment phase; first exposure wins. One call
-- carries the exposures that one server thread's concurrent requests made to the experiment
-- (redis/exposures.rs, decision 016): Redis pays the call's fixed cost once per batch.
-- KEYS[1] counters hash ({exp:KEY}:p1:agg), KEYS[2..] one unit hash ({exp:KEY}:p1:u:UNIT) per
-- exposure, in order (the same unit may come twice: the later one finds the earlier).
-- ARGV[1] the phase's key prefix ({exp:KEY}:p1:), ARGV[2] max distinct values per segment
-- attribute; then per exposure: variant index, exposure ms, the exposure's hour since the
-- epoch, plugin version ('' = none), the number k of CUPED covariates, the number s of
-- segments, then k triples: attribute, the attribute as it appears in keys (escaped: no ':'),
-- x ('' = missing); then s triples: attribute, the attribute in keys, value.
-- Slice keys share the experiment's hash tag, so they live in the same cluster slot.
-- Returns per exposure: variant, exposure ms, 1 if this call created the exposure else 0.
-- Increments are passed as the string '1': a Lua number argument is formatted with '%.14g'
-- (glibc's float printing) on every call, a few per cent of the script's time.
local prefix, counters_key = ARGV[1], KEYS[1]
local max_values = tonumber(ARGV[2])
local exposure_hours = prefix .. 'exph'

-- The unit counters (`<v>:u` of the phase and of each slice, the hour's exposures) the batch
-- moves, summed per hash and field and written once at the end: a batch of n new units of
-- two variants makes 6 increments instead of 3n. Nothing between a unit's write and them can
-- fail but a key of the wrong type (covariates are bounded numbers, ±1e15: their sums cannot
-- overflow), which no version of this script survives either.
local count_keys, counts = {}, {}
local function count(key, field)
  local fields = counts[key]
  if not fields then
    fields = {}
    counts[key] = fields
    count_keys[#count_keys + 1] = key
  end
  fields[field] = (fields[field] or 0) + 1
end

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

-- Counts the unit in the slice of one segment value: its `g:` field, the slice's counter,
-- and the slice's key in `counters` when covariates need it (else nil).
local function keep_slice(fields, counters, units, attribute, in_key, value)
  local slice = slice_of(attribute, value)
  local n = #fields
  fields[n + 1] = 'g:' .. attribute
  fields[n + 2] = slice
  local key = prefix .. 'seg:' .. in_key .. ':' .. slice
  if counters then counters[#counters + 1] = key end
  count(key, units)
end

-- One unit's first exposure: its hash, and every counters hash it counts in.
local function expose(unit, variant, at, hour, plugin_version, first_covariate,
                      first_segment, next_exposure)
  local units = variant .. ':u'
  local fields = {'v', variant, 't', at}
  -- Every counters hash the unit counts in, listed only for its covariates.
  local counters = first_segment > first_covariate and {counters_key} or nil
  -- The plugin version is kept as the built-in `plugin_version` segment.
  if plugin_version ~= '' then
    keep_slice(fields, counters, units, 'plugin_version', 'plugin_version', plugin_version)
  end
  for i = first_segment, next_exposure - 1, 3 do
    keep_slice(fields, counters, units, ARGV[i], ARGV[i + 1], ARGV[i + 2])
  end
  -- CUPED: a number x is kept with the unit (only when not 0: an absent field reads back as
  -- 0) and counted in every counters hash the unit counts in (units with a value, Σx, Σx²);
  -- a missing one is left out (missing = units - n, read back in aggregates.rs).
  for i = first_covariate, first_segment - 1, 3 do
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
  redis.call('HSET', unit, unpack(fields))
  count(counters_key, units)
  count(exposure_hours, variant .. ':' .. hour)
end

local out = {}
local i = 3
for k = 2, #KEYS do
  local unit = KEYS[k]
  local variant, at = ARGV[i], ARGV[i + 1]
  local first_covariate = i + 6
  local first_segment = first_covariate + 3 * tonumber(ARGV[i + 4])
  local next_exposure = first_segment + 3 * tonumber(ARGV[i + 5])
  local existing = redis.call('HMGET', unit, 'v', 't')
  local n = #out
  if existing[1] then
    out[n + 1], out[n + 2], out[n + 3] = existing[1], existing[2], 0
  else
    expose(unit, variant, at, ARGV[i + 2], ARGV[i + 3], first_covariate, first_segment,
      next_exposure)
    out[n + 1], out[n + 2], out[n + 3] = variant, at, 1
  end
  i = next_exposure
end
for _, key in ipairs(count_keys) do
  for field, n in pairs(counts[key]) do
    redis.call('HINCRBY', key, field, n == 1 and '1' or string.format('%d', n))
  end
end
return out
