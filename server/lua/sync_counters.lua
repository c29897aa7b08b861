-- At start-up: give counters seen for the first time their initial status, then recount the open
-- counters of every service from the statuses and the configuration.
-- ARGV[A..]: triples of counter id, initial status, comma-separated services.
redis.call('DEL', k_open_counters())
for i = A, #ARGV, 3 do
  redis.call('HSETNX', k_counter(ARGV[i]), 'status', ARGV[i + 1])
  if redis.call('HGET', k_counter(ARGV[i]), 'status') == 'open' then
    for service in string.gmatch(ARGV[i + 2], '[^,]+') do
      redis.call('HINCRBY', k_open_counters(), service, 1)
    end
  end
end
return reply({ok = true})
