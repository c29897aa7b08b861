-- File a complaint from a ticket's page: at most `per_ticket` per ticket, none once the page of a
-- finished ticket has expired. Nothing goes to the event stream: its events reach public screens.
-- ARGV[A..]: ticket id, complaint id, text, encrypted phone ('' = none), per-ticket limit,
-- page lifetime after the end (ms, 0 = ever).
local id, cid, text, phone = ARGV[A], ARGV[A + 1], ARGV[A + 2], ARGV[A + 3]
local per_ticket, ttl_ms = tonumber(ARGV[A + 4]), tonumber(ARGV[A + 5])
local t = hash(k_ticket(id))
if not t then return refuse('not_found') end
local ended = nil
if t.status == 'served' or t.status == 'cancelled' then ended = tonumber(t.finished_ms or '0')
elseif t.status == 'no_show' then ended = tonumber(t.no_show_ms or '0') end
if ended and ttl_ms > 0 and NOW_MS > ended + ttl_ms then return refuse('gone') end
local mine = k_ticket_complaints(id)
if redis.call('SCARD', mine) >= per_ticket then
  return refuse('too_many_complaints', {state = 'complained', limit = per_ticket})
end
local key = k_complaint(cid)
if redis.call('EXISTS', key) == 1 then return refuse('id_collision') end
redis.call('HSET', key, 'id', cid, 'ticket', id, 'number', t.number, 'service', t.service,
  'counter', t.counter or '', 'staff', t.staff or '', 'ticket_status', t.status, 'day', t.day,
  'text', text, 'phone', phone, 'state', 'open', 'filed_at', NOW_ISO, 'filed_ms', NOW_MS,
  'answer', '', 'answered_at', '', 'answered_ms', '', 'answered_by', '', 'closed_at', '')
redis.call('ZADD', k_complaints(), NOW_MS, cid)
if phone ~= '' then redis.call('ZADD', k_complaint_phones(), NOW_MS, cid) end
redis.call('SADD', mine, cid)
return reply({complaint = hash(key)})
