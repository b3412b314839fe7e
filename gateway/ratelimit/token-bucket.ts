/** Token bucket per access key: `burst` tokens, refilled at `perSecond`; in memory or in Redis. */
import type { Redis } from 'ioredis';

export interface RateLimitDecision {
  allowed: boolean;
  /** Seconds until one token is available again (0 when allowed). */
  retryAfterS: number;
}

export interface RateLimiter {
  take(subject: string): Promise<RateLimitDecision>;
}

export interface BucketOptions {
  burst: number;
  perSecond: number;
}

/** The pure step: the bucket's state after one request at time `nowMs`. */
export function takeToken(
  state: { tokens: number; updatedMs: number } | undefined,
  nowMs: number,
  opts: BucketOptions,
): { state: { tokens: number; updatedMs: number }; decision: RateLimitDecision } {
  const elapsedS = state ? Math.max(0, nowMs - state.updatedMs) / 1000 : 0;
  const tokens = Math.min(opts.burst, (state?.tokens ?? opts.burst) + elapsedS * opts.perSecond);
  if (tokens >= 1)
    return { state: { tokens: tokens - 1, updatedMs: nowMs }, decision: { allowed: true, retryAfterS: 0 } };
  return {
    state: { tokens, updatedMs: nowMs },
    decision: { allowed: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / opts.perSecond)) },
  };
}

export function createMemoryRateLimiter(opts: BucketOptions, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; updatedMs: number }>();
  return {
    async take(subject) {
      const { state, decision } = takeToken(buckets.get(subject), now(), opts);
      buckets.set(subject, state);
      return decision;
    },
  };
}

// The same step as takeToken, atomically in Redis; the key expires once the bucket would be full.
const TAKE_SCRIPT = `
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) / 1000 * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1 allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
`;

export function createRedisRateLimiter(redis: Redis, opts: BucketOptions, prefix = 'custos:rl:'): RateLimiter {
  return {
    async take(subject) {
      const [allowed, tokens] = (await redis.eval(
        TAKE_SCRIPT,
        1,
        `${prefix}${subject}`,
        opts.burst,
        opts.perSecond,
        Date.now(),
      )) as [number, string];
      if (allowed === 1) return { allowed: true, retryAfterS: 0 };
      return { allowed: false, retryAfterS: Math.max(1, Math.ceil((1 - Number(tokens)) / opts.perSecond)) };
    },
  };
}
