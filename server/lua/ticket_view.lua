-- Read one ticket with its position. ARGV[A..]: ticket id.
local t = hash(k_ticket(ARGV[A]))
if not t then return refuse('not_found') end
return reply({ticket = public_ticket(t), position = position(t)})
