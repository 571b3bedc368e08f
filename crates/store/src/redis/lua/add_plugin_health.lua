-- Adds plugin-health counts to one experiment phase's hash, atomically (decision 010).
-- KEYS[1] = {exp:KEY}:pN:plugin
-- ARGV = field, increment, field, increment, ... (fields `<variant>:c` calls, `<variant>:f`
-- fallbacks; only non-zero increments are sent)
for i = 1, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
return #ARGV / 2
