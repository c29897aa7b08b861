-- Set the notices ticker of the branch's displays (both texts empty clear it).
-- ARGV[A..]: text_zh, text_en, emergency '1'/'0'.
local text_zh, text_en, emergency = ARGV[A], ARGV[A + 1], ARGV[A + 2]
redis.call('HSET', k_notice(), 'text_zh', text_zh, 'text_en', text_en, 'emergency', emergency,
  'at', NOW_ISO, 'by', ACTOR)
local notice = {text_zh = text_zh, text_en = text_en, emergency = (emergency == '1'), at = NOW_ISO}
-- The audit entry keeps what was posted (the event's payload is the same, but not in the audit).
local posted = {text_zh = text_zh, text_en = text_en, emergency = (emergency == '1')}
local seq = emit('notice_posted', posted, posted)
notice.seq = seq
return reply(notice)
