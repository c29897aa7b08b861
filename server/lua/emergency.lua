-- Start ('start') or end ('end') the branch's emergency state (应急预案).
-- ARGV[A..]: action, kind, text_zh, text_en (the manager's own words; may be empty).
local action, kind, text_zh, text_en = ARGV[A], ARGV[A + 1], ARGV[A + 2], ARGV[A + 3]
if action == 'start' then
  redis.call('DEL', k_emergency())
  redis.call('HSET', k_emergency(), 'kind', kind, 'text_zh', text_zh, 'text_en', text_en, 'since', NOW_ISO,
    'by', ACTOR)
  local emergency = {kind = kind, text_zh = text_zh, text_en = text_en, since = NOW_ISO}
  local seq = emit('emergency_started', {emergency = emergency}, {kind = kind})
  return reply({emergency = emergency, seq = seq})
end
if redis.call('EXISTS', k_emergency()) == 0 then
  return refuse('invalid_state', {state = 'normal'})
end
local was = redis.call('HGET', k_emergency(), 'kind')
redis.call('DEL', k_emergency())
local seq = emit('emergency_ended', {kind = was}, {kind = was})
return reply({emergency = cjson.null, seq = seq})
