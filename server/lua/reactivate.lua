-- Put a recent no-show back in its queue `places_back` places behind the head (过号顺延).
-- ARGV[A..]: counter id (who reactivates), number, business day, window ms, places back.
local counter_id, number, day = ARGV[A], ARGV[A + 1], ARGV[A + 2]
local window_ms, places_back = tonumber(ARGV[A + 3]), tonumber(ARGV[A + 4])
if taken_by_other(hash(k_counter(counter_id)) or {}) then
  return taken_by_other(hash(k_counter(counter_id)) or {})
end
local id = redis.call('HGET', k_numbers(day), number)
if not id then return refuse('not_found') end
local t = hash(k_ticket(id))
if not TICKET_TRANSITIONS.reactivate[t.status] then return refuse('invalid_state', {state = t.status, number = number}) end
if NOW_MS - tonumber(t.no_show_ms) > window_ms then
  return refuse('reactivation_window_passed', {state = t.status, number = number})
end
local queue = k_queue(t.service, t.priority)
local score
if places_back == 0 then
  local first = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
  if first[1] then score = tonumber(first[2]) - 1 end
else
  local around = redis.call('ZRANGE', queue, places_back - 1, places_back, 'WITHSCORES')
  if #around == 4 then
    score = (tonumber(around[2]) + tonumber(around[4])) / 2
  end
end
-- Fewer than `places_back` tickets wait: it goes to the end, behind everyone issued so far.
if score == nil then score = redis.call('INCR', k_order()) end
redis.call('ZADD', queue, score, id)
redis.call('HSET', k_ticket(id), 'status', 'waiting', 'counter', '', 'order', score)
t = hash(k_ticket(id))
local seq = emit('ticket_reactivated', {ticket = public_ticket(t), counter = counter_id, staff = ACTOR})
return reply({ticket = public_ticket(t), position = position(t), seq = seq})
