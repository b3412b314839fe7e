import { test } from 'vitest';
import assert from 'node:assert/strict';
import { backoffDelayMs, isRetryableStatus, nextDelayMs, parseRetryAfterMs } from './retry.ts';

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };

test('only 429 and 503 are retryable statuses; 502 (aborted MPC session) and 4xx are not', () => {
  assert.deepEqual([400, 401, 404, 409, 429, 500, 502, 503, 504].filter(isRetryableStatus), [429, 503]);
});

test('backoff is full jitter under an exponential ceiling capped by maxDelayMs', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 10].map((retry) => backoffDelayMs(retry, policy, () => 0.999999)),
    [99, 199, 399, 799, 999, 999],
  );
  assert.equal(
    backoffDelayMs(3, policy, () => 0),
    0,
  );
  assert.equal(
    backoffDelayMs(2, policy, () => 0.5),
    100,
  );
});

test('Retry-After is read as delta-seconds or as an HTTP date', () => {
  const now = Date.parse('2026-11-24T05:00:00Z');
  assert.equal(parseRetryAfterMs('3', now), 3000);
  assert.equal(parseRetryAfterMs(' 0 ', now), 0);
  assert.equal(parseRetryAfterMs('Tue, 24 Nov 2026 05:00:07 GMT', now), 7000);
  assert.equal(parseRetryAfterMs('Tue, 24 Nov 2026 04:59:00 GMT', now), 0, 'a date in the past means now');
  assert.equal(parseRetryAfterMs(null, now), undefined);
  assert.equal(parseRetryAfterMs('soon', now), undefined);
  assert.equal(parseRetryAfterMs('-1', now), undefined);
});

test('the next delay prefers Retry-After, gives up past maxAttempts or an over-long Retry-After', () => {
  const random = () => 0.5;
  assert.equal(nextDelayMs({ attempt: 1, policy, retryAfterMs: undefined, random }), 50);
  assert.equal(nextDelayMs({ attempt: 1, policy, retryAfterMs: 700, random }), 700);
  assert.equal(nextDelayMs({ attempt: 1, policy, retryAfterMs: 1000, random }), 1000);
  assert.equal(nextDelayMs({ attempt: 1, policy, retryAfterMs: 1001, random }), undefined);
  assert.equal(nextDelayMs({ attempt: 3, policy, retryAfterMs: undefined, random }), 200);
  assert.equal(nextDelayMs({ attempt: 4, policy, retryAfterMs: undefined, random }), undefined);
  assert.equal(nextDelayMs({ attempt: 4, policy, retryAfterMs: 10, random }), undefined);
});
