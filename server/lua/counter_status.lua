-- Open, pause (with a reason) or close a counter. A counter serving a ticket must end it first.
-- ARGV[A..]: counter id, action 'open' | 'pause' | 'close', pause reason, then the services the
-- counter serves (their open-counter counts follow the counter's status).
local counter_id, action, reason = ARGV[A], ARGV[A + 1], ARGV[A + 2]
local c = hash(k_counter(counter_id)) or {status = 'closed'}
local status = c.status or 'closed'
if taken_by_other(c) then return taken_by_other(c) end
if not COUNTER_TRANSITIONS[action][status] then
  return refuse('invalid_state', {state = status})
end
if action ~= 'open' and c.current and c.current ~= '' then
  local busy = hash(k_ticket(c.current))
  return refuse('counter_busy', {state = 'serving', number = busy and busy.number or c.current})
end
local new_status = ({open = 'open', pause = 'paused', close = 'closed'})[action]
local delta = 0
if new_status == 'open' then delta = 1 elseif status == 'open' then delta = -1 end
for i = A + 3, #ARGV do
  if delta ~= 0 then redis.call('HINCRBY', k_open_counters(), ARGV[i], delta) end
end
redis.call('HSET', k_counter(counter_id), 'status', new_status, 'reason',
  (action == 'pause') and reason or '', 'staff', (action == 'close') and '' or ACTOR,
  'since', NOW_ISO)
local event_type = ({open = 'counter_opened', pause = 'counter_paused', close = 'counter_closed'})[action]
local payload = {counter = counter_id, status = new_status, staff = ACTOR}
if action == 'pause' then payload.reason = reason end
local seq = emit(event_type, payload)
return reply({counter = counter_id, status = new_status, reason = (action == 'pause') and reason or cjson.null, seq = seq})
