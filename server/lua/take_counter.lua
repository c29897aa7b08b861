-- Take a counter (one member of staff at a time) or release it.
-- ARGV[A..]: counter id, 'take' | 'release'.
local counter_id, action = ARGV[A], ARGV[A + 1]
local c = hash(k_counter(counter_id)) or {status = 'closed'}
local holder = c.holder or ''
if action == 'take' then
  if holder ~= '' and holder ~= ACTOR then
    return refuse('counter_taken', {state = 'taken', holder = holder})
  end
  redis.call('HSET', k_counter(counter_id), 'holder', ACTOR, 'holder_since', NOW_ISO)
  local seq = emit('counter_taken', {counter = counter_id, staff = ACTOR})
  return reply({counter = counter_id, holder = ACTOR, status = c.status or 'closed', seq = seq})
end
if holder ~= ACTOR and ROLE ~= 'admin' then
  if holder == '' then return refuse('not_taken', {state = 'free'}) end
  return refuse('counter_taken', {state = 'taken', holder = holder})
end
redis.call('HSET', k_counter(counter_id), 'holder', '')
local seq = emit('counter_released', {counter = counter_id, staff = holder})
return reply({counter = counter_id, holder = cjson.null, status = c.status or 'closed', seq = seq})
