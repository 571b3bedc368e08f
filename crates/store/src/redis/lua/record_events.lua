-- Counts a batch of events against ONE experiment, atomically; the twin of
-- crates/store/src/counting.rs (keep the two in step; the conformance suite pins them).
-- KEYS[1] counters hash; for event i: KEYS[2i] its unit hash, KEYS[2i+1] its seen-id key.
-- ARGV[1] the plan as JSON {stages, window_ms, metrics: [{key, kind, event, start_ms,
-- end_ms, min_count}], seen_ttl_seconds}; for event i: ARGV[3i-1] name, ARGV[3i] ms,
-- ARGV[3i+1] value ('' = none).
-- Returns one integer per event: 1 when this experiment counted it (now or on an earlier
-- attempt of the same id), else 0. The seen-id key makes a retried batch a no-op.
local plan = cjson.decode(ARGV[1])
local counters = KEYS[1]

-- Full precision: Lua's default number formatting keeps only 14 digits.
local function fmt(x)
  return string.format('%.17g', x)
end

local function bump(variant, group, name, n, s, q)
  local base = variant .. ':' .. group .. ':' .. name .. ':'
  if n ~= 0 then redis.call('HINCRBY', counters, base .. 'n', n) end
  if s ~= 0 then redis.call('HINCRBYFLOAT', counters, base .. 's', fmt(s)) end
  if q ~= 0 then redis.call('HINCRBYFLOAT', counters, base .. 'q', fmt(q)) end
end

local function nps_score(answer)
  if answer >= 9 then return 100 elseif answer >= 7 then return 0 else return -100 end
end

-- Applies one metric; returns true when the event counts for it.
local function apply_metric(unit_key, variant, m, value, seconds)
  local nf, xf = 'n:' .. m.key, 'x:' .. m.key
  local state = redis.call('HMGET', unit_key, nf, xf)
  local n, x = tonumber(state[1]) or 0, tonumber(state[2]) or 0
  local kind = m.kind
  if kind == 'conversion' then
    redis.call('HSET', unit_key, nf, n + 1)
    if n + 1 == m.min_count then bump(variant, 'm', m.key, 0, 1, 1) end
  elseif kind == 'count' then
    redis.call('HSET', unit_key, nf, n + 1)
    bump(variant, 'm', m.key, 0, 1, 2 * n + 1)
  elseif kind == 'duration' then
    if n == 0 then
      redis.call('HSET', unit_key, nf, 1)
      bump(variant, 'm', m.key, 1, seconds, seconds * seconds)
    end
  elseif value == nil then
    -- sum / nps / mean: an event without a value changes nothing.
    return false
  elseif kind == 'sum' then
    redis.call('HSET', unit_key, nf, n + 1, xf, fmt(x + value))
    bump(variant, 'm', m.key, 0, value, 2 * x * value + value * value)
  elseif kind == 'nps' then
    local score = nps_score(value)
    redis.call('HSET', unit_key, nf, 1, xf, fmt(score))
    if n == 0 then
      bump(variant, 'm', m.key, 1, score, score * score)
    else
      bump(variant, 'm', m.key, 0, score - x, score * score - x * x)
    end
  elseif kind == 'mean' then
    if n == 0 then
      redis.call('HSET', unit_key, nf, 1, xf, fmt(value))
      bump(variant, 'm', m.key, 1, value, value * value)
    else
      local old = x / n
      local total = x + value
      local new = total / (n + 1)
      redis.call('HSET', unit_key, nf, n + 1, xf, fmt(total))
      bump(variant, 'm', m.key, 0, new - old, new * new - old * old)
    end
  else
    return false
  end
  return true
end

local results = {}
for i = 1, (#ARGV - 1) / 3 do
  local unit_key, seen_key = KEYS[2 * i], KEYS[2 * i + 1]
  local name, at, raw = ARGV[3 * i - 1], tonumber(ARGV[3 * i]), ARGV[3 * i + 1]
  local value = nil
  if raw ~= '' then value = tonumber(raw) end
  local counted = 0
  if redis.call('EXISTS', seen_key) == 1 then
    counted = 1
  else
    local unit = redis.call('HMGET', unit_key, 'v', 't')
    if unit[1] then
      local variant = unit[1]
      local offset = at - tonumber(unit[2])
      if offset >= 0 then
        local seconds = offset / 1000
        for _, stage in ipairs(plan.stages) do
          if stage == name and offset < plan.window_ms then
            counted = 1
            if redis.call('HSETNX', unit_key, 's:' .. stage, 1) == 1 then
              bump(variant, 's', stage, 1, seconds, seconds * seconds)
            end
          end
        end
        for _, m in ipairs(plan.metrics) do
          if m.event == name and offset >= m.start_ms and offset < m.end_ms then
            if apply_metric(unit_key, variant, m, value, seconds) then counted = 1 end
          end
        end
      end
    end
    if counted == 1 then
      redis.call('SET', seen_key, 1, 'EX', plan.seen_ttl_seconds)
    end
  end
  results[i] = counted
end
return results
