-- End the counter's current ticket: served (finish) or no_show (过号).
-- ARGV[A..]: counter id, outcome 'served' | 'no_show'.
local counter_id, outcome = ARGV[A], ARGV[A + 1]
local c = hash(k_counter(counter_id)) or {}
if taken_by_other(c) then return taken_by_other(c) end
if not c.current or c.current == '' then
  return refuse('no_current_ticket', {state = c.status or 'closed'})
end
local id = c.current
local status, number = unpack(redis.call('HMGET', k_ticket(id), 'status', 'number'))
if not TICKET_TRANSITIONS[(outcome == 'served') and 'finish' or 'no_show'][status] then
  return refuse('invalid_state', {state = status, number = number})
end
if outcome == 'served' then
  redis.call('HSET', k_ticket(id), 'status', 'served', 'finished_at', NOW_ISO, 'finished_ms', NOW_MS)
else
  redis.call('HSET', k_ticket(id), 'status', 'no_show', 'no_show_at', NOW_ISO, 'no_show_ms', NOW_MS)
end
redis.call('HSET', k_counter(counter_id), 'current', '')
local t = hash(k_ticket(id))
local event_type = (outcome == 'served') and 'ticket_served' or 'ticket_no_show'
local seq = emit(event_type, {ticket = public_ticket(t), counter = counter_id, staff = ACTOR})
return reply({ticket = public_ticket(t), seq = seq})
