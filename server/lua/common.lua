-- Shared by every NextUp script; loaded after the generated prelude (server/scripts.py), which
-- gives the key functions k_ticket(id), k_queue(service, priority) ... of server/keys.py and the
-- transition tables of server/rules.py. Every key of a script carries the branch's hash tag.

-- Every script's first ARGVs: now in ms, now as ISO 8601 with the branch's offset, the actor
-- (username or device), the branch id, the event stream's approximate maximum length, the
-- actor's role and network address (for the audit log).
local NOW_MS = tonumber(ARGV[1])
local NOW_ISO = ARGV[2]
local ACTOR = ARGV[3]
local BRANCH = ARGV[4]
local MAXLEN = ARGV[5]
local ROLE = ARGV[6]
local SOURCE = ARGV[7]
local A = 8 -- index of the first script-specific ARGV

local function hash(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function null_if_empty(v)
  if v == nil or v == '' then return cjson.null end
  return v
end

local function public_ticket(t)
  return {
    id = t.id, branch = t.branch, number = t.number, service = t.service, status = t.status,
    priority = (t.priority == '1'), issued_at = t.issued_at, called_at = null_if_empty(t.called_at),
    last_called_at = null_if_empty(t.last_called_at), finished_at = null_if_empty(t.finished_at),
    counter = null_if_empty(t.counter), calls = tonumber(t.calls or '0'),
    transfers = tonumber(t.transfers or '0'), business_day = t.day,
  }
end

-- Staff and admin actions also go to the audit log: who, what, when, from which address.
local STAFF_ROLES = {admin = true, manager = true, staff = true}
local function audit(action, details)
  if STAFF_ROLES[ROLE] then
    redis.call('XADD', k_audit(), 'MAXLEN', '~', MAXLEN, '*', 'actor', ACTOR, 'role', ROLE,
      'source', SOURCE, 'action', action, 'at', NOW_ISO, 'details', cjson.encode(details))
  end
end

-- `audit_extra`: what the audit entry says beyond the payload's counter, ticket and reason (a
-- notice's texts, what a configuration change was about); not part of the event.
local function emit(event_type, payload, audit_extra)
  local details = {counter = payload.counter}
  if payload.ticket then details.number = payload.ticket.number; details.ticket = payload.ticket.id end
  if payload.reason then details.reason = payload.reason end
  if payload.from_service then details.from_service = payload.from_service end
  if payload.to_service then details.to_service = payload.to_service end
  for name, value in pairs(audit_extra or {}) do details[name] = value end
  audit(event_type, details)
  payload.type = event_type
  payload.branch = BRANCH
  payload.at = NOW_ISO
  payload.ts = NOW_MS
  payload.actor = ACTOR
  return redis.call('XADD', k_events(), 'MAXLEN', '~', MAXLEN, '*', 'type', event_type,
    'data', cjson.encode(payload))
end

local function reply(t) return cjson.encode(t) end

local function refuse(code, fields)
  fields = fields or {}
  fields.error = code
  return cjson.encode(fields)
end

-- The branch's emergency state (emergency.lua), or null when there is none.
local function emergency_state()
  local kind, zh, en, since = unpack(redis.call('HMGET', k_emergency(), 'kind', 'text_zh', 'text_en', 'since'))
  if not kind then return cjson.null end
  return {kind = kind, text_zh = zh or '', text_en = en or '', since = since}
end

-- Where a waiting ticket stands: tickets of its class before it, tickets of the other class
-- waiting, and how many open counters serve its service.
local function position(t)
  local same, other = 0, 0
  if t.status == 'waiting' then
    same = redis.call('ZRANK', k_queue(t.service, t.priority), t.id) or 0
    other = redis.call('ZCARD', k_queue(t.service, (t.priority == '1') and '0' or '1'))
  end
  local open = tonumber(redis.call('HGET', k_open_counters(), t.service) or '0')
  return {same_class_ahead = same, other_class_waiting = other, open_counters = open}
end

-- A counter taken by one member of staff refuses the others (admins may step in).
local function taken_by_other(c)
  if ROLE == 'staff' and c.holder and c.holder ~= '' and c.holder ~= ACTOR then
    return refuse('counter_taken', {state = 'taken', holder = c.holder})
  end
  return nil
end

-- The counter must be open and free to call a ticket.
local function counter_ready(counter_id)
  local c = hash(k_counter(counter_id)) or {status = 'closed'}
  local taken = taken_by_other(c)
  if taken then return nil, taken end
  if c.status ~= 'open' then
    return nil, refuse('counter_not_open', {state = c.status or 'closed'})
  end
  if c.current and c.current ~= '' then
    local busy = hash(k_ticket(c.current))
    return nil, refuse('counter_busy', {state = 'serving', number = busy and busy.number or c.current})
  end
  return c
end

-- Call a waiting ticket (already removed from its queue) to a counter.
local function call_ticket(t, counter_id, c, recent_n, event_type)
  local first = (t.called_at == nil or t.called_at == '')
  local calls = tonumber(t.calls or '0') + 1
  redis.call('HSET', k_ticket(t.id), 'status', 'called', 'counter', counter_id, 'staff', ACTOR,
    'last_called_at', NOW_ISO, 'last_called_ms', NOW_MS, 'calls', calls)
  if first then
    redis.call('HSET', k_ticket(t.id), 'called_at', NOW_ISO, 'called_ms', NOW_MS)
  end
  local streak = tonumber(c.priority_streak or '0')
  if t.priority == '1' then streak = streak + 1 else streak = 0 end
  redis.call('HSET', k_counter(counter_id), 'current', t.id, 'priority_streak', streak)
  local called = hash(k_ticket(t.id))
  local call = {number = called.number, counter = counter_id, service = called.service,
    at = NOW_ISO, ticket = called.id}
  redis.call('LPUSH', k_recent_calls(), cjson.encode(call))
  redis.call('LTRIM', k_recent_calls(), 0, recent_n - 1)
  local seq = emit(event_type, {ticket = public_ticket(called), counter = counter_id, staff = ACTOR})
  return reply({ticket = public_ticket(called), seq = seq})
end

-- Give counters seen for the first time their initial status, then recount the open counters of
-- every service. `counters` is a list of {id, initial_status, services = {...}}.
local function sync_counters(counters)
  redis.call('DEL', k_open_counters())
  for _, c in ipairs(counters) do
    if redis.call('HSETNX', k_counter(c.id), 'status', c.initial_status) == 1 and c.initial_status == 'open' then
      -- A counter that starts open has opened: metrics count its open time from now.
      emit('counter_opened', {counter = c.id, status = 'open', staff = cjson.null})
    end
    if redis.call('HGET', k_counter(c.id), 'status') == 'open' then
      for _, service in ipairs(c.services) do
        redis.call('HINCRBY', k_open_counters(), service, 1)
      end
    end
  end
end

-- Store a new branch configuration (TOML-shaped JSON), tell every process, record the event.
-- `summary`: what the change was about, for the audit log (server/branch_config.py change_summary).
local function store_config(json, source, channel, summary)
  local version = redis.call('HINCRBY', k_config(), 'version', 1)
  redis.call('HSET', k_config(), 'json', json)
  sync_counters(cjson.decode(json).counters)
  redis.call('PUBLISH', channel, version)
  local seq = emit('config_changed', {source = source, version = version}, summary)
  return version, seq
end
