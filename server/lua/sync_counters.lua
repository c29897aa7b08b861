-- At start-up: give counters seen for the first time their initial status, recount open counters.
-- ARGV[A..]: triples of counter id, initial status, comma-separated services.
local counters = {}
for i = A, #ARGV, 3 do
  local services = {}
  for service in string.gmatch(ARGV[i + 2], '[^,]+') do table.insert(services, service) end
  table.insert(counters, {id = ARGV[i], initial_status = ARGV[i + 1], services = services})
end
sync_counters(counters)
return reply({ok = true})
