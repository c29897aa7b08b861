-- Re-announce the counter's current ticket and count the call.
-- ARGV[A..]: counter id, recent calls kept.
local counter_id, recent_n = ARGV[A], tonumber(ARGV[A + 1])
local c = hash(k_counter(counter_id)) or {}
if taken_by_other(c) then return taken_by_other(c) end
if not c.current or c.current == '' then
  return refuse('no_current_ticket', {state = c.status or 'closed'})
end
local t = hash(k_ticket(c.current))
if not TICKET_TRANSITIONS.recall[t.status] then
  return refuse('invalid_state', {state = t.status, number = t.number})
end
redis.call('HSET', k_ticket(t.id), 'last_called_at', NOW_ISO, 'last_called_ms', NOW_MS,
  'calls', tonumber(t.calls or '0') + 1)
t = hash(k_ticket(t.id))
redis.call('LPUSH', k_recent_calls(), cjson.encode({number = t.number, counter = counter_id,
  service = t.service, at = NOW_ISO, ticket = t.id}))
redis.call('LTRIM', k_recent_calls(), 0, recent_n - 1)
local seq = emit('ticket_recalled', {ticket = public_ticket(t), counter = counter_id, staff = ACTOR})
return reply({ticket = public_ticket(t), seq = seq})
