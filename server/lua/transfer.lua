-- Transfer a waiting or called ticket to another service. It keeps its number and waits there
-- in its original place in line: ahead of every ticket issued after it.
-- ARGV[A..]: 'counter' or 'ticket', the counter id or ticket id, the target service.
local mode, subject, to_service = ARGV[A], ARGV[A + 1], ARGV[A + 2]
local counter_id = ''
local id
if mode == 'counter' then
  counter_id = subject
  local c = hash(k_counter(counter_id)) or {}
  if taken_by_other(c) then return taken_by_other(c) end
  if not c.current or c.current == '' then
    return refuse('no_current_ticket', {state = c.status or 'closed'})
  end
  id = c.current
else
  id = subject
end
local t = hash(k_ticket(id))
if not t then return refuse('not_found') end
if not TICKET_TRANSITIONS.transfer[t.status] then
  return refuse('invalid_state', {state = t.status, number = t.number})
end
if t.service == to_service then
  return refuse('same_service', {service = to_service})
end
if t.status == 'called' then
  redis.call('HSET', k_counter(t.counter), 'current', '')
  counter_id = t.counter
else
  redis.call('ZREM', k_queue(t.service, t.priority), id)
end
local from_service = t.service
redis.call('HSET', k_ticket(id), 'status', 'waiting', 'service', to_service, 'counter', '',
  'transfers', tonumber(t.transfers or '0') + 1)
redis.call('ZADD', k_queue(to_service, t.priority), t.order, id)
t = hash(k_ticket(id))
local seq = emit('ticket_transferred', {ticket = public_ticket(t), from_service = from_service,
  to_service = to_service, counter = null_if_empty(counter_id), staff = ACTOR})
return reply({ticket = public_ticket(t), position = position(t), seq = seq})
