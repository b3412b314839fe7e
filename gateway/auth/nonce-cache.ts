/** Remembers (access key, nonce) pairs for the replay window: in memory, or in Redis for several replicas. */
import type { Redis } from 'ioredis';

export interface NonceCache {
  /** True the first time a pair is seen within `ttlMs`; false for a replay. */
  claim(accessKey: string, nonce: string, ttlMs: number): Promise<boolean>;
}

export function createMemoryNonceCache(now: () => number = Date.now): NonceCache {
  const seen = new Map<string, number>();
  let nextSweep = 0;
  return {
    async claim(accessKey, nonce, ttlMs) {
      const t = now();
      if (t >= nextSweep) {
        for (const [k, expiry] of seen) if (expiry <= t) seen.delete(k);
        nextSweep = t + 10_000;
      }
      const k = `${accessKey}\n${nonce}`;
      const expiry = seen.get(k);
      if (expiry !== undefined && expiry > t) return false;
      seen.set(k, t + ttlMs);
      return true;
    },
  };
}

export function createRedisNonceCache(redis: Redis, prefix = 'custos:nonce:'): NonceCache {
  return {
    async claim(accessKey, nonce, ttlMs) {
      return (await redis.set(`${prefix}${accessKey}:${nonce}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
    },
  };
}
