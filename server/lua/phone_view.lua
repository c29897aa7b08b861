-- The phone page's view of one ticket: the ticket, its place in line, when it ended, its feedback
-- and its complaints (the fields server/follow_up.py names, in that order), and the branch's
-- emergency state if any, in one round trip.
-- ARGV[A..]: ticket id, then the complaint fields to read.
local id = ARGV[A]
local t = hash(k_ticket(id))
if not t then return refuse('not_found') end
local ended_ms = cjson.null
if t.status == 'served' or t.status == 'cancelled' then
  ended_ms = tonumber(t.finished_ms or '0')
elseif t.status == 'no_show' then
  ended_ms = tonumber(t.no_show_ms or '0')
end
local fields = {}
for i = A + 1, #ARGV do fields[#fields + 1] = ARGV[i] end
local filed = {}
for _, cid in ipairs(redis.call('SMEMBERS', k_ticket_complaints(id))) do
  local values = redis.call('HMGET', k_complaint(cid), unpack(fields))
  if values[1] then
    local c = {}
    for i, name in ipairs(fields) do c[name] = values[i] or '' end
    filed[#filed + 1] = c
  end
end
local rating = redis.call('HGET', k_rating(id), 'rating')
local emergency = emergency_state()
return reply({ticket = public_ticket(t), position = position(t), ended_ms = ended_ms,
  rating = rating and tonumber(rating) or cjson.null,
  complaints = redis.call('SCARD', k_ticket_complaints(id)), filed = filed,
  emergency = emergency})
