import assert from 'node:assert/strict';
import { describe, test, beforeAll, afterAll } from 'vitest';
import { createMemoryNonceCache, createRedisNonceCache } from '../auth/nonce-cache.ts';
import { redisAvailable, startRedis, type RedisServer } from './redis-server.ts';
import { createMemoryRateLimiter, createRedisRateLimiter, takeToken } from './token-bucket.ts';

describe('token bucket', () => {
  test('allows a burst, then refills at the sustained rate', () => {
    const opts = { burst: 2, perSecond: 1 };
    let s = takeToken(undefined, 0, opts);
    assert.ok(s.decision.allowed);
    s = takeToken(s.state, 0, opts);
    assert.ok(s.decision.allowed);
    s = takeToken(s.state, 0, opts);
    assert.deepEqual(s.decision, { allowed: false, retryAfterS: 1 });
    s = takeToken(s.state, 1000, opts);
    assert.ok(s.decision.allowed);
    s = takeToken(s.state, 1000, opts);
    assert.equal(s.decision.allowed, false);
  });

  test('in memory: buckets are per subject', async () => {
    let now = 0;
    const limiter = createMemoryRateLimiter({ burst: 1, perSecond: 0.5 }, () => now);
    assert.ok((await limiter.take('a')).allowed);
    assert.ok((await limiter.take('b')).allowed);
    const denied = await limiter.take('a');
    assert.deepEqual(denied, { allowed: false, retryAfterS: 2 });
    now = 2000;
    assert.ok((await limiter.take('a')).allowed);
  });
});

describe('nonce cache in memory', () => {
  test('refuses a replay within the ttl and forgets after it', async () => {
    let now = 0;
    const cache = createMemoryNonceCache(() => now);
    assert.equal(await cache.claim('ak', 'n1', 1000), true);
    assert.equal(await cache.claim('ak', 'n1', 1000), false);
    assert.equal(await cache.claim('other', 'n1', 1000), true);
    now = 20_000;
    assert.equal(await cache.claim('ak', 'n1', 1000), true);
  });
});

describe('Redis-backed nonce cache and rate limiter', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    // A real server, never a skip: make test installs it (hack/setup.d/10-debian-packages.sh).
    assert.ok(redisAvailable(), 'redis-server is not installed: run hack/test-deps.sh');
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  test('two replicas share nonces: a nonce used on one is refused on the other', async () => {
    const a = createRedisNonceCache(redis.client());
    const b = createRedisNonceCache(redis.client());
    assert.equal(await a.claim('ak', 'nonce-shared-1', 60_000), true);
    assert.equal(await b.claim('ak', 'nonce-shared-1', 60_000), false);
    assert.equal(await b.claim('ak2', 'nonce-shared-1', 60_000), true);
    const ttl = await redis.client().pttl('custos:nonce:ak:nonce-shared-1');
    assert.ok(ttl > 0 && ttl <= 60_000);
  });

  test('two replicas share one bucket per access key', async () => {
    const opts = { burst: 3, perSecond: 0.01 };
    const a = createRedisRateLimiter(redis.client(), opts);
    const b = createRedisRateLimiter(redis.client(), opts);
    const results = [await a.take('ak'), await b.take('ak'), await a.take('ak'), await b.take('ak')];
    assert.deepEqual(
      results.map((r) => r.allowed),
      [true, true, true, false],
    );
    assert.ok(results[3]!.retryAfterS >= 1);
    assert.ok((await a.take('another')).allowed);
  });
});
