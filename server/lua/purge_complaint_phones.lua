-- Erase the phone numbers of complaints filed before a cutoff (the retention is a setting).
-- ARGV[A..]: cutoff (ms since the epoch); numbers filed exactly then are kept.
local cutoff = '(' .. ARGV[A]
local index = k_complaint_phones()
local ids = redis.call('ZRANGEBYSCORE', index, '-inf', cutoff)
for _, cid in ipairs(ids) do
  if redis.call('EXISTS', k_complaint(cid)) == 1 then
    redis.call('HSET', k_complaint(cid), 'phone', '', 'phone_purged_at', NOW_ISO)
  end
end
redis.call('ZREMRANGEBYSCORE', index, '-inf', cutoff)
return reply({purged = #ids})
