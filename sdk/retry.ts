/** Pure pieces of the SDK's retry policy: which answers to retry, how long to wait. */

export interface RetryPolicy {
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  /** Cap of the backoff, and the longest Retry-After the client waits for before giving up. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 10_000 };

/**
 * 429 (rate limited) and 503 (cluster unavailable) are transient. 502 is not: the gateway uses it
 * for an aborted MPC session, and a blind retry would only start another one.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 503;
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base * 2^(retry-1))). */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 10.2.3), in ms from now; undefined if absent or unreadable. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // HTTP dates always name a day or month; this keeps Date.parse from reading "-1" as a year.
  const at = /[A-Za-z]/.test(trimmed) ? Date.parse(trimmed) : NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * How long to wait before the next attempt, or undefined to stop. The server's Retry-After wins
 * over our own backoff; one longer than maxDelayMs is not waited for, so the caller gets the
 * error (with retryAfterMs) and decides.
 */
export function nextDelayMs(opts: {
  attempt: number;
  policy: RetryPolicy;
  retryAfterMs: number | undefined;
  random: () => number;
}): number | undefined {
  if (opts.attempt >= opts.policy.maxAttempts) return undefined;
  if (opts.retryAfterMs !== undefined) {
    return opts.retryAfterMs <= opts.policy.maxDelayMs ? opts.retryAfterMs : undefined;
  }
  return backoffDelayMs(opts.attempt, opts.policy, opts.random);
}
