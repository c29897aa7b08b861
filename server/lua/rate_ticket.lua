-- Rate a served ticket, once: store the rating and append its ticket_rated event in one step, so
-- the metrics count exactly the ratings stored.
-- ARGV[A..]: ticket id, rating (1-5), comment, how long the page lives after the end (ms, 0 = ever).
local id, rating, comment, ttl_ms = ARGV[A], tonumber(ARGV[A + 1]), ARGV[A + 2], tonumber(ARGV[A + 3])
local t = hash(k_ticket(id))
if not t then return refuse('not_found') end
if t.status ~= 'served' then return refuse('invalid_state', {state = t.status, number = t.number}) end
if ttl_ms > 0 and NOW_MS > tonumber(t.finished_ms or '0') + ttl_ms then return refuse('gone') end
local key = k_rating(id)
if redis.call('HSETNX', key, 'rating', rating) == 0 then
  return refuse('already_rated', {state = 'rated', rating = tonumber(redis.call('HGET', key, 'rating'))})
end
redis.call('HSET', key, 'comment', comment, 'at', NOW_ISO, 'ms', NOW_MS, 'number', t.number,
  'service', t.service, 'counter', t.counter or '', 'staff', t.staff or '', 'day', t.day)
redis.call('ZADD', k_ratings(), NOW_MS, id)
local seq = emit('ticket_rated', {ticket = public_ticket(t), counter = null_if_empty(t.counter),
  staff = null_if_empty(t.staff), service = t.service, rating = rating})
return reply({rating = rating, comment = comment, at = NOW_ISO, seq = seq})
