-- A manager moves a complaint to a new state, with an answer, if its current state allows it
-- (the allowed starting states come from server/feedback.py). Audited, not streamed.
-- ARGV[A..]: complaint id, new state, answer ('' = keep), allowed starting states...
local cid, state, answer = ARGV[A], ARGV[A + 1], ARGV[A + 2]
local key = k_complaint(cid)
local c = hash(key)
if not c then return refuse('not_found') end
local allowed = false
for i = A + 3, #ARGV do if ARGV[i] == c.state then allowed = true end end
if not allowed then return refuse('invalid_state', {state = c.state}) end
if state == 'answered' and answer == '' and (c.answer or '') == '' then
  return refuse('answer_required', {state = c.state})
end
if answer ~= '' then
  redis.call('HSET', key, 'answer', answer, 'answered_at', NOW_ISO, 'answered_ms', NOW_MS, 'answered_by', ACTOR)
end
redis.call('HSET', key, 'state', state, 'updated_at', NOW_ISO)
if state == 'closed' then redis.call('HSET', key, 'closed_at', NOW_ISO) end
audit('complaint_' .. state, {complaint = cid, number = c.number, counter = c.counter})
return reply({complaint = hash(key)})
