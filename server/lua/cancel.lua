-- Cancel a waiting ticket at its holder's request.
-- ARGV[A..]: ticket id.
local id = ARGV[A]
local t = hash(k_ticket(id))
if not t then return refuse('not_found') end
if not TICKET_TRANSITIONS.cancel[t.status] then return refuse('invalid_state', {state = t.status, number = t.number}) end
redis.call('ZREM', k_queue(t.service, t.priority), id)
redis.call('HSET', k_ticket(id), 'status', 'cancelled', 'finished_at', NOW_ISO, 'finished_ms', NOW_MS)
t = hash(k_ticket(id))
local seq = emit('ticket_cancelled', {ticket = public_ticket(t)})
return reply({ticket = public_ticket(t), seq = seq})
