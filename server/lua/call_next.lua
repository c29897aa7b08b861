-- Call the next ticket to a counter: the longest-waiting ticket among its services, priority
-- tickets first but at most `cap` of them in a row while regular tickets wait.
-- ARGV[A..]: counter id, priority cap, recent calls kept, then the counter's services in order.
local counter_id, cap, recent_n = ARGV[A], tonumber(ARGV[A + 1]), tonumber(ARGV[A + 2])
local c, refusal = counter_ready(counter_id)
if not c then return refusal end

local function head(priority)
  local best_id, best_score
  for i = A + 3, #ARGV do
    local first = redis.call('ZRANGE', k_queue(ARGV[i], priority), 0, 0, 'WITHSCORES')
    if first[1] and (best_score == nil or tonumber(first[2]) < best_score) then
      best_id, best_score = first[1], tonumber(first[2])
    end
  end
  return best_id
end

local pri, reg = head('1'), head('0')
local streak = tonumber(c.priority_streak or '0')
local chosen
if pri and (streak < cap or not reg) then chosen = pri else chosen = reg end
if not chosen then return reply({empty = true}) end
local t = hash(k_ticket(chosen))
redis.call('ZREM', k_queue(t.service, t.priority), chosen)
return call_ticket(t, counter_id, c, recent_n, 'ticket_called')
