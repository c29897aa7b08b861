-- Save a configuration edited from version `base`; refused when someone saved in between.
-- ARGV[A..]: configuration JSON, base version, the change channel, what changed (JSON, for the audit).
local json, base, channel, summary = ARGV[A], tonumber(ARGV[A + 1]), ARGV[A + 2], cjson.decode(ARGV[A + 3])
local current = tonumber(redis.call('HGET', k_config(), 'version') or '0')
if current ~= base then
  return refuse('config_changed', {state = 'changed', version = current})
end
local version, seq = store_config(json, 'admin', channel, summary)
return reply({version = version, seq = seq})
