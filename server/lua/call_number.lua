-- Call one specific waiting ticket, by its number of the business day, to a counter.
-- ARGV[A..]: counter id, number, business day, recent calls kept, then the counter's services.
local counter_id, number, day, recent_n = ARGV[A], ARGV[A + 1], ARGV[A + 2], tonumber(ARGV[A + 3])
local c, refusal = counter_ready(counter_id)
if not c then return refusal end
local id = redis.call('HGET', k_numbers(day), number)
if not id then return refuse('not_found') end
local t = hash(k_ticket(id))
if not TICKET_TRANSITIONS.call[t.status] then return refuse('invalid_state', {state = t.status, number = number}) end
local served = false
for i = A + 4, #ARGV do
  if ARGV[i] == t.service then served = true end
end
if not served then return refuse('not_served_here', {service = t.service, state = t.status, number = number}) end
redis.call('ZREM', k_queue(t.service, t.priority), id)
return call_ticket(t, counter_id, c, recent_n, 'ticket_called')
