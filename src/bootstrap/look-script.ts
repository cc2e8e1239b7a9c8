/**
 * The `look` Lua script: loaded once with SCRIPT LOAD, run by EVALSHA (the
 * registry loads it again when Redis answers NOSCRIPT, e.g. after a restart
 * or SCRIPT FLUSH). One round trip does the whole call:
 *
 * 1. authenticate: session:{sha} -> id, and node:{id} must still hold that
 *    sha256 of the session key and be live; otherwise it returns nil (401);
 * 2. sample: SRANDMEMBER draws 2*count+1 distinct ids (the spares stand in for
 *    the caller and for lapsed ids the sweeper has not trimmed yet), HGETALL
 *    reads each, and only id, ip, port and publicKey are copied out, so a
 *    session key can never leave Redis through it.
 *
 * SRANDMEMBER picks a uniform subset but returns small sets in set order, so
 * the Point shuffles the candidates before keeping `count` of them (taking
 * the first ones would favour some nodes). Read-only: trimming lapsed ids is
 * the sweeper's job, inside MULTI/EXEC.
 *
 * KEYS[1] = the id set; ARGV = key prefix, sha256 of the session key, count, now (ms).
 * Node hashes are addressed as prefix .. 'node:' .. id, so the script needs a
 * standalone Redis (or a cluster hash tag in the prefix), as documented.
 */
import { createHash } from 'node:crypto';

export const LOOK_SCRIPT = `
local prefix = ARGV[1]
local want = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local caller = redis.call('GET', prefix .. 'session:' .. ARGV[2])
if not caller then return false end
local me = redis.call('HMGET', prefix .. 'node:' .. caller, 'key', 'expires')
if me[1] ~= ARGV[2] or not me[2] or tonumber(me[2]) <= now then return false end
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
