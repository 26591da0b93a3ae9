import { DEFAULT_RETRY_POLICY, nextAttemptAt, type RetryPolicy } from '../../src/webhooks/retry-schedule';

const HOUR = 60 * 60 * 1000;
const policy: RetryPolicy = {
  baseDelayMs: 1000,
  maxDelayMs: HOUR,
  minDelayMs: 100,
  givingUpAfterMs: 72 * HOUR,
};
const start = new Date('2026-11-30T10:00:00Z');
const at = (ms: number) => new Date(start.getTime() + ms);

describe('the webhook retry schedule', () => {
  it('when the random source is at its top, then the delay doubles with each failure', () => {
    const delays = [1, 2, 3, 4].map(
      (failures) =>
        nextAttemptAt({ firstAttemptAt: start, failures, now: start }, policy, () => 0.999999)!.getTime() -
        start.getTime(),
    );

    expect(delays).toEqual([999, 1999, 3999, 7999]);
  });

  it('when many attempts have failed, then no single delay exceeds the cap', () => {
    const next = nextAttemptAt({ firstAttemptAt: start, failures: 5000, now: start }, policy, () => 0.999999);

    expect(next!.getTime() - start.getTime()).toBeLessThanOrEqual(HOUR);
    expect(next!.getTime() - start.getTime()).toBeGreaterThan(HOUR - 10);
  });

  it('when the random source varies, then the delay spreads between the floor and the ceiling (full jitter)', () => {
    const delay = (r: number) =>
      nextAttemptAt({ firstAttemptAt: start, failures: 3, now: start }, policy, () => r)!.getTime() -
      start.getTime();

    expect(delay(0)).toBe(100);
    expect(delay(0.5)).toBe(2000);
    expect(delay(0.999999)).toBe(3999);
  });

  it('when the next delay would pass the giving-up period, then the last attempt falls at its end', () => {
    const now = at(72 * HOUR - 1000);

    const next = nextAttemptAt({ firstAttemptAt: start, failures: 40, now }, policy, () => 0.999999);

    expect(next).toEqual(at(72 * HOUR));
  });

  it('when the giving-up period has passed, then there is no next attempt', () => {
    expect(
      nextAttemptAt({ firstAttemptAt: start, failures: 41, now: at(72 * HOUR) }, policy, () => 0),
    ).toBeNull();
  });

  it('when no attempt has failed yet, then asking for a retry is a programming error', () => {
    expect(() => nextAttemptAt({ firstAttemptAt: start, failures: 0, now: start })).toThrow(RangeError);
  });

  it('when the default policy runs to the end with the worst luck, then it stops after three days', () => {
    let now = start;
    let failures = 0;
    for (;;) {
      failures += 1;
      const next = nextAttemptAt(
        { firstAttemptAt: start, failures, now },
        DEFAULT_RETRY_POLICY,
        () => 0.999999,
      );
      if (next === null) break;
      now = next;
    }

    expect(now).toEqual(at(DEFAULT_RETRY_POLICY.givingUpAfterMs));
    expect(failures).toBeLessThan(100);
  });
});
