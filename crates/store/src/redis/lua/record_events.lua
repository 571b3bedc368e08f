-- Counts a batch of events against one or more experiments, atomically and all or nothing;
-- the twin of crates/store/src/counting.rs (keep the two in step; the conformance suite pins
-- them). It executes each metric's counting rule from the compiled plan's flags and never
-- names a metric kind: a new kind is a new `MetricKind::counting_rule` in the model.
--
-- The batch comes in sections, one per experiment (several only where every key shares a
-- slot: always on a single Redis, never across experiments on a Cluster).
-- ARGV[1] the number of sections; ARGV[2] the number m of processed markers this call claims
-- (0 on a Cluster, where the caller checks and writes them around the calls); ARGV[3] the
-- hour their expiry falls in (`marker_expiry.rs`: the hour queue that lists them); then per
-- section: its plan as JSON (`Plan` in counting.rs:
-- {stages, window_ms, metrics: [{key, event, start_ms, end_ms, min_count, covariate,
-- contribution, value_steps, keep, unit_value, counts_senders, needs_value, once_per_unit,
-- keeps_value}], segments, segment_keys, seen_ttl_seconds, seen_events, covariates,
-- stage_covariates}; a covariate is 1 + its index in `covariates`, 0 for none), its key prefix
-- ({exp:KEY}:p1:), its number of events k, then k times: the event's marker (1..m, 0 for
-- none), name, ms, value ('' = none).
-- KEYS: the m markers (`touchstone:ev:ID`, every event of the call has one, counted by any
-- section or by none) and, when m > 0, the hour's marker queue (`touchstone:evq:HOUR`, a list)
-- and the set of hours with a queue (`touchstone:evq`); then per section its counters hash,
-- then k times: the event's unit hash, then its seen-id key only if the event has no marker
-- in this call (marker 0: on a Cluster) and its name is one of the plan's `seen_events` (those
-- a metric counts every time; the others never need one).
-- Returns m integers, 1 where the marker already existed (the event is a duplicate: no
-- section counts it), then one integer per section event, sections in order: 1 when its
-- experiment counted it (now or on an earlier attempt of the same id), else 0.
--
-- Markers: every section event of a marked event is in this call (the caller packs whole
-- events), so a marker exists after the call exactly when every experiment counted the event:
-- it never hides an event that was not counted. A marked event needs no seen-id: its marker,
-- claimed in this same all-or-nothing call and kept at least as long as any seen-id would be,
-- is already the per-id guard of every experiment in the call (on a single Redis, where markers
-- are claimed here, no seen-id is ever written; a seen-id key per repeatable event cost as
-- much as a fifth of the script's time, decision 016).
--
-- Markers carry no TTL of their own: each call appends the markers it claimed to the queue of
-- the hour their time is up, and the server's sweeper (`marker_expiry.rs`) deletes a queue's
-- markers once that hour has passed. A key with a TTL cost Redis twice the dictionary work of
-- one without (the expires table is searched, cleared and written per key, and grows by a key
-- per event), about a sixth of the script's time (decision 016).
--
-- All or nothing: the script reads and computes everything first, checks every number it is
-- about to write is finite, and only then writes the counting. Two kinds of key are claimed
-- earlier, while reading, with one `SET … NX` each (the claim is the check): the markers (no
-- TTL) and the seen-ids (`EX`; a Cluster's only). If anything fails after a claim (a
-- non-finite value, a corrupt field, an error raised by a command), the script deletes the
-- keys it claimed before it answers the error — they did not exist before, so the call leaves
-- nothing. Redis does not roll back a script, and refuses a write (OOM, too few replicas) only
-- at a script's first write, which is then the first claim: nothing of the batch is kept
-- either way.
--
-- Cost matters here (Redis runs one script at a time, and each `redis.call` costs about a
-- microsecond of conversions besides the command), so:
-- - each event reads everything it needs of its unit in one HMGET, and each unit is written
--   once, in one HSET, at the end (the script is atomic, so read-then-write is safe);
-- - a marker or seen-id is checked and written by one command (`SET … NX`), not an
--   EXISTS/MGET and a SET;
-- - counter increments are summed in Lua; each counters hash is read once (HMGET of the
--   fields the batch moves) and written once (HSET of their new values) instead of one
--   HINCRBY/HINCRBYFLOAT per field — sums are then added in doubles, as the embedded store does;
-- - a seen-id key is written only for events that move a metric a repeat would move again
--   (`once_per_unit` false). Stages and once-per-unit metrics count a unit once by the flags
--   in its hash, so running them twice changes nothing and needs no seen-id key.

-- Full precision: Lua's default number formatting keeps only 14 digits. Whole numbers (counts,
-- flags, most running totals) take the integer path: '%.17g' runs glibc's multi-precision float
-- printing, a measurable share of the script's time.
local floor = math.floor
local function fmt(x)
  if x == floor(x) and x > -9007199254740992 and x < 9007199254740992 then
    return string.format('%d', x)
  end
  return string.format('%.17g', x)
end

local function finite(x)
  return x == x and x ~= math.huge and x ~= -math.huge
end

-- Pending writes: target set (the counters hashes a unit counts in, `targets_of`) -> field ->
-- increment (counts integers, sums floats), spread over the set's hashes at the end; unit
-- hash -> field -> new value (with the order units were first touched); the keys this call
-- claimed (markers, seen-ids), deleted again if it fails.
local counts, sums = {}, {}
local unit_writes, unit_order = {}, {}
local claimed = {}

-- Creates `key` with a TTL unless it exists: true when this call created it.
local function claim(key, ttl)
  if redis.call('SET', key, '1', 'EX', ttl, 'NX') then
    claimed[#claimed + 1] = key
    return true
  end
  return false
end

local function add(into, key, field, amount)
  local fields = into[key]
  if not fields then
    fields = {}
    into[key] = fields
  end
  fields[field] = (fields[field] or 0) + amount
end

local function set_unit(unit_key, field, value)
  local fields = unit_writes[unit_key]
  if not fields then
    fields = {}
    unit_writes[unit_key] = fields
    unit_order[#unit_order + 1] = unit_key
  end
  fields[field] = value
end

-- The counter field names of one stage or metric (`names_of`), per variant: built once a call.
local function names_of(cache, variant, group, name)
  local names = cache[variant]
  if not names then
    local base = variant .. ':' .. group .. ':' .. name .. ':'
    names = {n = base .. 'n', s = base .. 's', q = base .. 'q', p = base .. 'p'}
    cache[variant] = names
  end
  return names
end

-- The unit's counters: its variant's in the experiment and in each slice it belongs to. p is
-- the change of Σxy (CUPED: x·s, the unit's covariate times the change of its value).
local function bump(targets, names, n, s, q, p)
  if n ~= 0 then add(counts, targets, names.n, n) end
  if s ~= 0 then add(sums, targets, names.s, s) end
  if q ~= 0 then add(sums, targets, names.q, q) end
  if p ~= 0 then add(sums, targets, names.p, p) end
end

-- The rule's three steps (`CountingRule` in the model).
local function contribution(m, value, seconds)
  local u
  if m.contribution == 'one' then
    u = 1
  elseif m.contribution == 'seconds' then
    u = seconds
  else
    u = value
  end
  for _, step in ipairs(m.value_steps) do
    if u >= step[1] then return step[2] end
  end
  return u
end

local function advance(m, n, x, u)
  if m.keep == 'total' then return n + 1, x + u end
  if m.keep == 'last' then return 1, u end
  if n == 0 then return 1, u end -- 'first'
  return nil
end

local function unit_value(m, n, x)
  local how = m.unit_value
  if how == 'count' then return n end
  if how == 'reached_min_count' then
    if n >= m.min_count then return 1 end
    return 0
  end
  if how == 'mean_per_event' then
    if n == 0 then return 0 end
    return x / n
  end
  return x -- 'kept'
end

local marker_count, marker_hour = tonumber(ARGV[2]), ARGV[3]

-- Everything from the first claim on runs inside `pcall` (at the end of the script), so a failure can
-- delete what was claimed.
local function count_all()
  local results = {}
  local duplicate = {}
  local fresh_markers = {}
  for i = 1, marker_count do
    if redis.call('SET', KEYS[i], '1', 'NX') then
      claimed[#claimed + 1] = KEYS[i]
      fresh_markers[#fresh_markers + 1] = KEYS[i]
      duplicate[i] = false
    else
      duplicate[i] = true
    end
    results[i] = duplicate[i] and 1 or 0
  end
  local argi, keyi = 4, marker_count + 1
  local marker_queue, marker_hours = nil, nil
  if marker_count > 0 then
    marker_queue, marker_hours = KEYS[keyi], KEYS[keyi + 1]
    keyi = keyi + 2
  end
  for _ = 1, tonumber(ARGV[1]) do
    local plan = cjson.decode(ARGV[argi])
    local prefix, k = ARGV[argi + 1], tonumber(ARGV[argi + 2])
    argi = argi + 3
    local counters = KEYS[keyi]
    keyi = keyi + 1
    local segment_count = #plan.segments
    local seen_events = {}
    for _, name in ipairs(plan.seen_events) do seen_events[name] = true end
    local unit_fields = {'v', 't'}
    for _, attribute in ipairs(plan.segments) do
      unit_fields[#unit_fields + 1] = 'g:' .. attribute
    end

    -- Per event name: whether it is a stage, the metrics it may feed, and the unit-hash fields
    -- to read for it in one HMGET (v, t, segments, the stage flag, each metric's n and x, then
    -- the covariate x of each covariate its stage or metrics declare). `at_x[c]` is where
    -- covariate number c sits in the reading.
    local by_name = {}
    local function reading_for(name)
      local reading = by_name[name]
      if reading then return reading end
      local fields = {unpack(unit_fields)}
      local stage, stage_covariate = false, 0
      for index, s in ipairs(plan.stages) do
        if s == name then
          stage = true
          stage_covariate = plan.stage_covariates[index]
        end
      end
      local stage_field = 's:' .. name
      fields[#fields + 1] = stage_field
      local metrics, metric_names = {}, {}
      for _, m in ipairs(plan.metrics) do
        if m.event == name then
          metrics[#metrics + 1] = m
          metric_names[#metrics] = {}
          fields[#fields + 1] = 'n:' .. m.key
          fields[#fields + 1] = 'x:' .. m.key
        end
      end
      local at_x = {}
      local function read_covariate(c)
        if c ~= 0 and not at_x[c] then
          fields[#fields + 1] = 'c:' .. plan.covariates[c]
          at_x[c] = #fields
        end
      end
      read_covariate(stage_covariate)
      for _, m in ipairs(metrics) do read_covariate(m.covariate) end
      reading = {fields = fields, stage = stage, stage_covariate = stage_covariate,
        metrics = metrics, at_x = at_x, stage_field = stage_field, stage_names = {},
        metric_names = metric_names}
      by_name[name] = reading
      return reading
    end

    -- The counters hashes a unit counts in (the phase's, then one per slice it belongs to), by
    -- its slice values: built once per distinct combination in a call.
    local targets_by_slices = {}
    local function targets_of(unit)
      local node = targets_by_slices
      for s = 1, segment_count do
        local slice = unit[2 + s] or false
        local next_node = node[slice]
        if not next_node then
          next_node = {}
          node[slice] = next_node
        end
        node = next_node
      end
      local targets = node.targets
      if not targets then
        targets = {counters}
        for s = 1, segment_count do
          local slice = unit[2 + s]
          if slice then
            targets[#targets + 1] = prefix .. 'seg:' .. plan.segment_keys[s] .. ':' .. slice
          end
        end
        node.targets = targets
      end
      return targets
    end

    -- The unit's x of covariate number c (0 when missing, or for c = 0: none declared).
    local function covariate_of(unit, reading, c)
      if c == 0 then return 0 end
      return tonumber(unit[reading.at_x[c]]) or 0
    end

    -- Counts one event of this section; 1 when it fell inside a window of a stage or metric.
    local function count(unit_key, seen_key, marked, name, at, value)
      local counted = 0
      local reading = reading_for(name)
      local unit = redis.call('HMGET', unit_key, unpack(reading.fields))
      -- What this batch already changed in the unit is not in Redis yet.
      local pending = unit_writes[unit_key]
      if pending then
        for index, field in ipairs(reading.fields) do
          if pending[field] ~= nil then unit[index] = pending[field] end
        end
      end
      local offset = unit[1] and (at - tonumber(unit[2])) or -1
      if offset >= 0 then
        local seconds = offset / 1000
        local stage_hit = reading.stage and offset < plan.window_ms
        local taken, repeatable = {}, false
        for j, m in ipairs(reading.metrics) do
          if offset >= m.start_ms and offset < m.end_ms and (value ~= nil or not m.needs_value) then
            taken[#taken + 1] = j
            if not m.once_per_unit then repeatable = true end
          end
        end
        if stage_hit or #taken > 0 then
          counted = 1
          -- An id this experiment already counted is a retry: count it once.
          local fresh = true
          if repeatable and not marked then
            -- The plan lists every name a repeatable metric counts (`seen_events`).
            if not seen_key then error('no seen-id key for ' .. name) end
            fresh = claim(seen_key, plan.seen_ttl_seconds)
          end
          if fresh then
            local variant = unit[1]
            local targets = targets_of(unit)
            local stage_flag = 3 + segment_count
            if stage_hit and not unit[stage_flag] then
              set_unit(unit_key, reading.stage_field, '1')
              -- Reached moved from 0 to 1: x·y moves by x.
              local x = covariate_of(unit, reading, reading.stage_covariate)
              local names = names_of(reading.stage_names, variant, 's', name)
              bump(targets, names, 1, seconds, seconds * seconds, x)
            end
            for _, j in ipairs(taken) do
              local m = reading.metrics[j]
              local at_n = stage_flag + 2 * j - 1
              local n, x = tonumber(unit[at_n]) or 0, tonumber(unit[at_n + 1]) or 0
              local new_n, new_x = advance(m, n, x, contribution(m, value, seconds))
              if new_n then
                local before, after = unit_value(m, n, x), unit_value(m, new_n, new_x)
                local s = after - before
                local newly = 0
                if m.counts_senders and n == 0 then newly = 1 end
                local p = covariate_of(unit, reading, m.covariate) * s
                local names = names_of(reading.metric_names[j], variant, 'm', m.key)
                bump(targets, names, newly, s, s * (after + before), p)
                local at_field = stage_flag + 2 * j - 1
                set_unit(unit_key, reading.fields[at_field], new_n)
                if m.keeps_value then set_unit(unit_key, reading.fields[at_field + 1], new_x) end
              end
            end
          end
        end
      end
      return counted
    end

    for _ = 1, k do
      local marker, name = tonumber(ARGV[argi]), ARGV[argi + 1]
      local unit_key, seen_key = KEYS[keyi], nil
      keyi = keyi + 1
      if marker == 0 and seen_events[name] then
        seen_key = KEYS[keyi]
        keyi = keyi + 1
      end
      local counted = 0
      -- An event whose marker already existed was fully processed by an earlier call.
      if marker == 0 or not duplicate[marker] then
        local raw = ARGV[argi + 3]
        local value = nil
        if raw ~= '' then value = tonumber(raw) end
        counted = count(unit_key, seen_key, marker ~= 0, name, tonumber(ARGV[argi + 2]), value)
      end
      argi = argi + 4
      results[#results + 1] = counted
    end
  end

  -- The new value of every counter field the batch moves: the increments of every target set
  -- summed per counters hash and field (the phase's counters are in all of them), then one HMGET
  -- per hash for the values they add to. Counts stay whole numbers; sums are added in doubles.
  -- Returns {key, {field, value, ...}} pairs, or nil and an error.
  local function counter_writes()
    local by_key = {}
    for _, pending in ipairs({counts, sums}) do
      for targets, fields in pairs(pending) do
        for _, key in ipairs(targets) do
          for field, amount in pairs(fields) do add(by_key, key, field, amount) end
        end
      end
    end
    local writes = {}
    for key, fields in pairs(by_key) do
      local names, amounts = {}, {}
      for field, amount in pairs(fields) do
        if amount ~= 0 then
          names[#names + 1] = field
          amounts[#names] = amount
        end
      end
      if #names > 0 then
        local current = redis.call('HMGET', key, unpack(names))
        local flat = {}
        for i, field in ipairs(names) do
          local before = 0
          if current[i] then
            before = tonumber(current[i])
            if not before then
              return nil, 'ERR counter ' .. field .. ' of ' .. key .. ' is not a number: nothing was recorded'
            end
          end
          local after = before + amounts[i]
          if not finite(amounts[i]) or not finite(after) then
            return nil, 'ERR non-finite sum for ' .. field .. ': nothing was recorded'
          end
          flat[#flat + 1] = field
          flat[#flat + 1] = fmt(after)
        end
        writes[#writes + 1] = {key, flat}
      end
    end
    return writes
  end

  -- Nothing is written until every number is known to be finite.
  for _, unit_key in ipairs(unit_order) do
    for field, value in pairs(unit_writes[unit_key]) do
      if not finite(value) then
        return redis.error_reply('ERR non-finite value for ' .. field .. ': nothing was recorded')
      end
    end
  end
  local writes, failure = counter_writes()
  if not writes then return redis.error_reply(failure) end

  -- The claimed markers join their hour's queue (the sweeper deletes them when it has passed)
  -- before any counting is written: if this fails, nothing of the batch is kept.
  if #fresh_markers > 0 then
    redis.call('RPUSH', marker_queue, unpack(fresh_markers))
    redis.call('ZADD', marker_hours, marker_hour, marker_hour)
  end

  for _, unit_key in ipairs(unit_order) do
    local flat = {}
    for field, value in pairs(unit_writes[unit_key]) do
      flat[#flat + 1] = field
      if type(value) == 'number' then value = fmt(value) end
      flat[#flat + 1] = value
    end
    redis.call('HSET', unit_key, unpack(flat))
  end
  for _, write in ipairs(writes) do
    redis.call('HSET', write[1], unpack(write[2]))
  end
  return results
end

-- A failure after a claim deletes what was claimed: the keys did not exist before this call.
local ok, answer = pcall(count_all)
if ok and not answer.err then return answer end
for _, key in ipairs(claimed) do redis.call('DEL', key) end
if ok or type(answer) == 'table' then return answer end
return redis.error_reply('ERR ' .. tostring(answer))
