import Redis from 'ioredis';
import { createKnownAddresses } from '../../src/dependencies/known-addresses';

describe('known sign-in addresses', () => {
  afterEach(() => jest.useRealTimers());

  it('when an address was remembered, then it is known until its time runs out', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-07T00:00:00Z') });
    const known = createKnownAddresses({ redis: undefined, ttlMs: 1000 });
    await known.remember('account:a:address:192.0.2.1');

    expect(await known.has('account:a:address:192.0.2.1')).toBe(true);
    expect(await known.has('account:a:address:192.0.2.2')).toBe(false);
    jest.setSystemTime(new Date('2026-12-07T00:00:01Z'));
    expect(await known.has('account:a:address:192.0.2.1')).toBe(false);
  });

  it('when more addresses are remembered than it keeps in memory, then the least recently remembered go first', async () => {
    const known = createKnownAddresses({ redis: undefined, ttlMs: 60_000, maxEntries: 2 });
    await known.remember('first');
    await known.remember('second');
    await known.remember('first');

    await known.remember('third');

    expect(await known.has('first')).toBe(true);
    expect(await known.has('second')).toBe(false);
    expect(await known.has('third')).toBe(true);
  });

  const onRedis = process.env.REDIS_URL ? it : it.skip;
  onRedis('when Redis keeps them, then another instance knows the address and the key expires', async () => {
    const redis = new Redis(process.env.REDIS_URL!);
    const key = `test-${process.pid}-${Date.now()}`;
    try {
      await createKnownAddresses({ redis, ttlMs: 60_000 }).remember(key);

      expect(await createKnownAddresses({ redis, ttlMs: 60_000 }).has(key)).toBe(true);
      expect(await redis.pttl(`known-address:${key}`)).toBeGreaterThan(0);
    } finally {
      await redis.del(`known-address:${key}`);
      redis.disconnect();
    }
  });
});
