/**
 * The Lua scripts. Each runs atomically on the server and reads the server's clock (`TIME`), so replicas with
 * drifting clocks still share one bucket. ioredis sends them with EVALSHA and falls back to EVAL on NOSCRIPT.
 * Numbers cross into Redis as strings formatted here, so no server version's number conversion can round them.
 */

/**
 * KEYS[1] bucket hash; ARGV capacity, refill per ms. Refills by the time elapsed since `at`, takes one token if
 * there is one, and expires the hash once it would be full again (an absent bucket is a full one).
 * Returns the wait in ms as a string: "0" when a token was taken.
 */
export const TAKE_TOKEN = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(stored[1])
local at = tonumber(stored[2])
if tokens == nil or at == nil then
  tokens = capacity
elseif now > at then
  tokens = tokens + (now - at) * rate
end
if tokens > capacity then tokens = capacity end
local wait = 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(0, tokens - 1)
else
  wait = (1 - tokens) / rate
end
local ttl = math.min(math.ceil((capacity - tokens) / rate) + 1, 1e12)
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
return string.format('%.17g', wait)
`;

/** KEYS[1] bucket hash; ARGV capacity, refill per ms. The tokens available now, without taking one. */
export const AVAILABLE_TOKENS = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(stored[1])
local at = tonumber(stored[2])
if tokens == nil or at == nil then return string.format('%.17g', capacity) end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
if now > at then tokens = tokens + (now - at) * rate end
return string.format('%.17g', math.min(capacity, tokens))
`;

/**
 * KEYS[1] breaker key; ARGV state JSON, TTL ms, channel, announcement. Writes and announces in one step, so a
 * replica that hears the announcement finds the key already written.
 */
export const SET_BREAKER = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/** KEYS[1] breaker key. Returns { state JSON or nil, remaining TTL in ms }. */
export const GET_BREAKER = `
return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }
`;
