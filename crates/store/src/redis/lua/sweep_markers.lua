-- Deletes up to ARGV[2] processed markers listed in one hour's queue, atomically with taking
-- them off it (`marker_expiry.rs`): a sweeper that stops between calls leaves every marker it
-- did not delete still listed, and two sweepers never take the same one.
-- KEYS[1] the queue (`touchstone:evq:HOUR`, a list of marker keys), KEYS[2] the set of hours
-- with a queue (`touchstone:evq`); ARGV[1] the hour, ARGV[2] the chunk size.
-- Returns {markers deleted, markers still queued}; an emptied queue leaves the set.
--
-- The markers are not in KEYS (the queue names them): single Redis only, where every key is
-- reachable from a script; a Cluster's markers carry their own TTL and have no queue.
local markers = redis.call('LPOP', KEYS[1], ARGV[2])
local deleted = 0
if markers then
  deleted = redis.call('UNLINK', unpack(markers))
end
local left = redis.call('LLEN', KEYS[1])
if left == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return {deleted, left}
