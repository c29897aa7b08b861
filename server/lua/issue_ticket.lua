-- Issue a ticket: number it for the business day, queue it, record the event.
-- ARGV[A..]: ticket id, service, prefix, number width, priority '1'/'0', business day,
-- daily cap (0 = none), idempotency key ('' = none), idempotency ttl s, the kiosk whose rate
-- limit applies ('' = none), its limit (tickets per window) and window (ms).
local id, service, prefix = ARGV[A], ARGV[A + 1], ARGV[A + 2]
local width, priority, day = tonumber(ARGV[A + 3]), ARGV[A + 4], ARGV[A + 5]
local cap, idem, idem_ttl = tonumber(ARGV[A + 6]), ARGV[A + 7], ARGV[A + 8]
local kiosk, limit, window_ms = ARGV[A + 9], tonumber(ARGV[A + 10]), tonumber(ARGV[A + 11])

if idem ~= '' then
  local previous = redis.call('GET', k_idempotency(idem))
  if previous then
    local t = hash(k_ticket(previous))
    return reply({ticket = public_ticket(t), position = position(t), replayed = true})
  end
end
-- No new ticket while the branch is in an emergency state (a repeated request got its ticket above).
local emergency = redis.call('HGET', k_emergency(), 'kind')
if emergency then
  return refuse('emergency', {state = emergency})
end
-- A repeated request got its ticket above without counting again; a new one counts in the
-- kiosk's sliding window, whichever path (HTTP or the kiosk socket) it came by.
local issues = kiosk ~= '' and limit > 0 and k_kiosk_issues(kiosk) or nil
if issues then
  redis.call('ZREMRANGEBYSCORE', issues, '-inf', NOW_MS - window_ms)
  if redis.call('ZCARD', issues) >= limit then
    local oldest = redis.call('ZRANGE', issues, 0, 0, 'WITHSCORES')
    local retry_ms = tonumber(oldest[2]) + window_ms - NOW_MS
    return refuse('rate_limited', {retry_after_s = math.max(1, math.ceil(retry_ms / 1000))})
  end
end
if cap > 0 and tonumber(redis.call('HGET', k_numbering(day), service) or '0') >= cap then
  return refuse('daily_cap_reached', {cap = cap})
end
if redis.call('EXISTS', k_ticket(id)) == 1 then
  return refuse('id_collision')
end
local n = redis.call('HINCRBY', k_numbering(day), service, 1)
local number = prefix .. string.format('%0' .. width .. 'd', n)
local place = redis.call('INCR', k_order())
redis.call('HSET', k_ticket(id), 'id', id, 'branch', BRANCH, 'number', number, 'service', service,
  'original_service', service, 'status', 'waiting', 'priority', priority, 'issued_at', NOW_ISO,
  'issued_ms', NOW_MS, 'day', day, 'order', place, 'calls', 0, 'transfers', 0, 'issued_by', ACTOR)
redis.call('ZADD', k_queue(service, priority), place, id)
redis.call('HSET', k_numbers(day), number, id)
if idem ~= '' then
  redis.call('SET', k_idempotency(idem), id, 'EX', idem_ttl)
end
if issues then
  redis.call('ZADD', issues, NOW_MS, idem ~= '' and idem or id)
  redis.call('PEXPIRE', issues, window_ms + 1000)
end
local t = hash(k_ticket(id))
local seq = emit('ticket_issued', {ticket = public_ticket(t)})
return reply({ticket = public_ticket(t), position = position(t), seq = seq})
