/**
 * The `look` Lua script: loaded once with SCRIPT LOAD, run by EVALSHA (the
 * registry falls back to loading it again when Redis answers NOSCRIPT, e.g.
 * after a restart or SCRIPT FLUSH). It draws 2*count+1 distinct ids with
 * SRANDMEMBER (the spare ones stand in for the caller and for lapsed ids not
 * swept yet), reads each hash with HGETALL, skips the caller and lapsed
 * registrations, and copies out only id, ip, port and publicKey, so a session
 * key can never leave Redis through it. SRANDMEMBER picks a uniform subset
 * but returns it in a biased order (small sets come back in set order), so
 * the caller shuffles the candidates before keeping `count` of them; taking
 * the first ones would favour some nodes. Read-only: trimming lapsed ids is
 * the sweeper's job, inside MULTI/EXEC.
 *
 * KEYS[1] = the id set; ARGV = key prefix, caller id, count wanted, now (ms).
 * Node hashes are addressed by prefix .. 'node:' .. id, so this script needs a
 * standalone Redis (or a cluster hash tag on the prefix), as documented.
 */
import { createHash } from 'node:crypto';

export const LOOK_SCRIPT = `
local prefix = ARGV[1]
local caller = ARGV[2]
local want = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local ids = redis.call('SRANDMEMBER', KEYS[1], want * 2 + 1)
local out = {}
for _, id in ipairs(ids) do
  if id ~= caller then
    local flat = redis.call('HGETALL', prefix .. 'node:' .. id)
    local h = {}
    for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
    if h['ip'] and h['port'] and h['publicKey'] and h['expires'] and tonumber(h['expires']) > now then
      out[#out + 1] = { id, h['ip'], h['port'], h['publicKey'] }
    end
  end
end
return out
`;

export const LOOK_SCRIPT_SHA = createHash('sha1').update(LOOK_SCRIPT).digest('hex');
