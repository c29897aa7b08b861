-- At start-up: the branch file wins when it changed since it was last applied (or nothing is
-- stored yet); otherwise the stored configuration, with the changes made in the admin pages, stays.
-- ARGV[A..]: configuration JSON from the file, the file's hash, the change channel.
local json, file_hash, channel = ARGV[A], ARGV[A + 1], ARGV[A + 2]
local stored = redis.call('HMGET', k_config(), 'json', 'file_hash')
if stored[1] and stored[2] == file_hash then
  sync_counters(cjson.decode(stored[1]).counters)
  return reply({json = stored[1], version = tonumber(redis.call('HGET', k_config(), 'version'))})
end
redis.call('HSET', k_config(), 'file_hash', file_hash)
local version = store_config(json, 'file', channel)
return reply({json = json, version = version})
