-- Read the branch: waiting counts per service, counters, last calls, latest event seq.
-- ARGV[A]: number of services n, then n service ids, then the counter ids.
local n = tonumber(ARGV[A])
local services = {}
for i = A + 1, A + n do
  table.insert(services, {id = ARGV[i], waiting = redis.call('ZCARD', k_queue(ARGV[i], '0'))
    + redis.call('ZCARD', k_queue(ARGV[i], '1')), priority_waiting = redis.call('ZCARD', k_queue(ARGV[i], '1'))})
end
local counters = {}
for i = A + n + 1, #ARGV do
  local c = hash(k_counter(ARGV[i])) or {}
  local current = cjson.null
  if c.current and c.current ~= '' then
    current = public_ticket(hash(k_ticket(c.current)))
  end
  table.insert(counters, {id = ARGV[i], status = c.status or 'closed', reason = null_if_empty(c.reason),
    staff = null_if_empty(c.staff), holder = null_if_empty(c.holder), current = current})
end
local recent = {}
for _, raw in ipairs(redis.call('LRANGE', k_recent_calls(), 0, -1)) do table.insert(recent, cjson.decode(raw)) end
local n_zh, n_en, n_em, n_at = unpack(redis.call('HMGET', k_notice(), 'text_zh', 'text_en', 'emergency', 'at'))
local notice = cjson.null
if (n_zh and n_zh ~= '') or (n_en and n_en ~= '') then
  notice = {text_zh = n_zh or '', text_en = n_en or '', emergency = (n_em == '1'), at = n_at}
end
local emergency = emergency_state()
local last = redis.call('XREVRANGE', k_events(), '+', '-', 'COUNT', 1)
local seq = cjson.null
if last[1] then seq = last[1][1] end
return reply({services = services, counters = counters, recent_calls = recent, seq = seq, notice = notice,
  emergency = emergency})
