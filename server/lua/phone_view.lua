-- The phone page's view of one ticket: the ticket, its place in line, when it ended and its
-- feedback, in one round trip. ARGV[A..]: ticket id.
local id = ARGV[A]
local t = hash(k_ticket(id))
if not t then return refuse('not_found') end
local ended_ms = cjson.null
if t.status == 'served' or t.status == 'cancelled' then
  ended_ms = tonumber(t.finished_ms or '0')
elseif t.status == 'no_show' then
  ended_ms = tonumber(t.no_show_ms or '0')
end
local rating = redis.call('HGET', k_rating(id), 'rating')
return reply({ticket = public_ticket(t), position = position(t), ended_ms = ended_ms,
  rating = rating and tonumber(rating) or cjson.null,
  complaints = redis.call('SCARD', k_ticket_complaints(id))})
