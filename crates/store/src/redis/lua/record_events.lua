-- Counts a batch of events against ONE experiment, atomically; the twin of
-- crates/store/src/counting.rs (keep the two in step; the conformance suite pins them).
-- KEYS[1] counters hash; for event i: KEYS[2i] its unit hash, KEYS[2i+1] its seen-id key.
-- ARGV[1] the plan as JSON {stages, window_ms, metrics: [{key, kind, event, start_ms,
-- end_ms, min_count}], segments, seen_ttl_seconds}; ARGV[2] the phase's key prefix
-- ({exp:KEY}:p1:); for event i: ARGV[3i] name, ARGV[3i+1] ms, ARGV[3i+2] value ('' = none).
-- Returns one integer per event: 1 when this experiment counted it (now or on an earlier
-- attempt of the same id), else 0.
--
-- Cost matters here (Redis runs one script at a time), so:
-- - each event reads everything it needs of its unit in one HMGET and writes back in one HSET
--   (the script is atomic, so read-then-write is as safe as HSETNX / HINCRBY);
-- - counter increments are summed in Lua and written once per field at the end, not per event;
-- - the seen-id key is written only for events that move a metric which is not idempotent
--   (conversion, count, sum, mean, nps). Stages and durations count a unit once by the flags
--   in its hash, so running them twice changes nothing and needs no seen-id key.
local plan = cjson.decode(ARGV[1])
local counters, prefix = KEYS[1], ARGV[2]

-- Full precision: Lua's default number formatting keeps only 14 digits.
local function fmt(x)
  return string.format('%.17g', x)
end

local unit_fields = {'v', 't'}
for _, attribute in ipairs(plan.segments) do
  unit_fields[#unit_fields + 1] = 'g:' .. attribute
end

-- key -> field -> pending increment; counts (`…:n`) are integers, sums floats.
local counts, sums = {}, {}
local function add(into, key, field, amount)
  local fields = into[key]
  if not fields then
    fields = {}
    into[key] = fields
  end
  fields[field] = (fields[field] or 0) + amount
end

-- The unit's counters: its variant's in the experiment and in each slice it belongs to.
local function bump(targets, variant, group, name, n, s, q)
  local base = variant .. ':' .. group .. ':' .. name .. ':'
  for _, key in ipairs(targets) do
    if n ~= 0 then add(counts, key, base .. 'n', n) end
    if s ~= 0 then add(sums, key, base .. 's', s) end
    if q ~= 0 then add(sums, key, base .. 'q', q) end
  end
end

local function nps_score(answer)
  if answer >= 9 then return 100 elseif answer >= 7 then return 0 else return -100 end
end

-- Whether metric m takes this event at all (value metrics ignore events without a value).
local function takes(m, name, offset, value)
  if m.event ~= name or offset < m.start_ms or offset >= m.end_ms then return false end
  local kind = m.kind
  if kind == 'conversion' or kind == 'count' or kind == 'duration' then return true end
  return value ~= nil and (kind == 'sum' or kind == 'nps' or kind == 'mean')
end

-- Applies metric m to the unit's state {n, x} (read once per event) and returns the new
-- state, or nil when it did not change.
local function apply_metric(targets, variant, m, n, x, value, seconds)
  local kind = m.kind
  if kind == 'conversion' then
    if n + 1 == m.min_count then bump(targets, variant, 'm', m.key, 0, 1, 1) end
    return n + 1, nil
  elseif kind == 'count' then
    bump(targets, variant, 'm', m.key, 0, 1, 2 * n + 1)
    return n + 1, nil
  elseif kind == 'duration' then
    if n ~= 0 then return nil end
    bump(targets, variant, 'm', m.key, 1, seconds, seconds * seconds)
    return 1, nil
  elseif kind == 'sum' then
    bump(targets, variant, 'm', m.key, 0, value, 2 * x * value + value * value)
    return n + 1, x + value
  elseif kind == 'nps' then
    local score = nps_score(value)
    if n == 0 then
      bump(targets, variant, 'm', m.key, 1, score, score * score)
    else
      bump(targets, variant, 'm', m.key, 0, score - x, score * score - x * x)
    end
    return 1, score
  elseif kind == 'mean' then
    if n == 0 then
      bump(targets, variant, 'm', m.key, 1, value, value * value)
      return 1, value
    end
    local old = x / n
    local total = x + value
    local new = total / (n + 1)
    bump(targets, variant, 'm', m.key, 0, new - old, new * new - old * old)
    return n + 1, total
  end
  return nil
end

-- Per event name: whether it is a stage, the metrics it may feed, and the unit-hash fields
-- to read for it in one HMGET (v, t, segments, the stage flag, each metric's n and x).
local by_name = {}
local function reading_for(name)
  local reading = by_name[name]
  if reading then return reading end
  local fields = {unpack(unit_fields)}
  local stage = false
  for _, s in ipairs(plan.stages) do
    if s == name then stage = true end
  end
  fields[#fields + 1] = 's:' .. name
  local metrics = {}
  for _, m in ipairs(plan.metrics) do
    if m.event == name then
      metrics[#metrics + 1] = m
      fields[#fields + 1] = 'n:' .. m.key
      fields[#fields + 1] = 'x:' .. m.key
    end
  end
  reading = {fields = fields, stage = stage, metrics = metrics}
  by_name[name] = reading
  return reading
end

local results = {}
local segment_count = #plan.segments
for i = 1, (#ARGV - 2) / 3 do
  local unit_key, seen_key = KEYS[2 * i], KEYS[2 * i + 1]
  local name, at, raw = ARGV[3 * i], tonumber(ARGV[3 * i + 1]), ARGV[3 * i + 2]
  local value = nil
  if raw ~= '' then value = tonumber(raw) end
  local counted = 0
  local reading = reading_for(name)
  local unit = redis.call('HMGET', unit_key, unpack(reading.fields))
  local offset = unit[1] and (at - tonumber(unit[2])) or -1
  if offset >= 0 then
    local stage_hit = reading.stage and offset < plan.window_ms
    local taken, once_only = {}, false
    for j, m in ipairs(reading.metrics) do
      if takes(m, name, offset, value) then
        taken[#taken + 1] = j
        if m.kind ~= 'duration' then once_only = true end
      end
    end
    if stage_hit or #taken > 0 then
      counted = 1
      -- An id this experiment already counted is a retry: count it once.
      if not once_only or redis.call('SET', seen_key, 1, 'NX', 'EX', plan.seen_ttl_seconds) then
        local variant = unit[1]
        local targets = {counters}
        for s = 1, segment_count do
          local slice = unit[2 + s]
          if slice then
            targets[#targets + 1] = prefix .. 'seg:' .. plan.segments[s] .. ':' .. slice
          end
        end
        local seconds = offset / 1000
        local writes = {}
        local stage_flag = 3 + segment_count
        if stage_hit and not unit[stage_flag] then
          writes[#writes + 1] = 's:' .. name
          writes[#writes + 1] = 1
          bump(targets, variant, 's', name, 1, seconds, seconds * seconds)
        end
        for _, j in ipairs(taken) do
          local m = reading.metrics[j]
          local at_n = stage_flag + 2 * j - 1
          local n, x = tonumber(unit[at_n]) or 0, tonumber(unit[at_n + 1]) or 0
          local new_n, new_x = apply_metric(targets, variant, m, n, x, value, seconds)
          if new_n then
            writes[#writes + 1] = 'n:' .. m.key
            writes[#writes + 1] = new_n
            if new_x then
              writes[#writes + 1] = 'x:' .. m.key
              writes[#writes + 1] = fmt(new_x)
            end
          end
        end
        if #writes > 0 then redis.call('HSET', unit_key, unpack(writes)) end
      end
    end
  end
  results[i] = counted
end

for key, fields in pairs(counts) do
  for field, amount in pairs(fields) do
    redis.call('HINCRBY', key, field, amount)
  end
end
for key, fields in pairs(sums) do
  for field, amount in pairs(fields) do
    if amount ~= 0 then redis.call('HINCRBYFLOAT', key, field, fmt(amount)) end
  end
end
return results
