export interface RetryPolicy {
  /** Ceiling of the first retry's delay; it doubles with each further failure. */
  baseDelayMs: number;
  /** No single wait is longer than this, however many failures came before. */
  maxDelayMs: number;
  /** A delay is never shorter than this, so a receiver that just failed is not hit again at once. */
  minDelayMs: number;
  /** Counted from the first attempt; once it has passed the message is given up. */
  givingUpAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 30_000,
  maxDelayMs: 60 * 60 * 1000,
  minDelayMs: 1000,
  givingUpAfterMs: 3 * 24 * 60 * 60 * 1000,
};

export interface RetryState {
  firstAttemptAt: Date;
  /** Failed attempts so far, at least 1 when asking for the next attempt. */
  failures: number;
  now: Date;
}

/**
 * When to try again after `failures` failed attempts, or null to give up. Exponential backoff with full
 * jitter (a uniform delay between 0 and the exponential ceiling): after an outage the receiver's queued
 * messages come back spread out rather than all at the same instants. The last attempt falls exactly at the
 * end of the period, so a receiver that recovers late still gets one more chance.
 */
export function nextAttemptAt(
  state: RetryState,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): Date | null {
  if (state.failures < 1) throw new RangeError('nextAttemptAt needs at least one failed attempt.');
  const deadline = state.firstAttemptAt.getTime() + policy.givingUpAfterMs;
  const now = state.now.getTime();
  if (now >= deadline) return null;
  // 2 ** 1024 is Infinity; capping the exponent keeps the arithmetic finite for any failure count.
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(state.failures - 1, 50));
  const delay = Math.max(policy.minDelayMs, Math.floor(random() * ceiling));
  return new Date(Math.min(now + delay, deadline));
}
