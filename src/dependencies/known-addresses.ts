import type { Redis } from 'ioredis';

/** Addresses an account signed in from, remembered for a while: in Redis when there is one, else in memory. */
export interface KnownAddresses {
  has(key: string): Promise<boolean>;
  remember(key: string): Promise<void>;
}

export function createKnownAddresses(deps: {
  redis: Redis | undefined;
  ttlMs: number;
  /** In memory, the oldest are forgotten beyond this many (~150 bytes each). */
  maxEntries?: number;
}): KnownAddresses {
  const { redis, ttlMs } = deps;
  if (redis) {
    const redisKey = (key: string) => `known-address:${key}`;
    return {
      has: async (key) => (await redis.exists(redisKey(key))) === 1,
      remember: async (key) => {
        await redis.set(redisKey(key), '1', 'PX', ttlMs);
      },
    };
  }
  const maxEntries = deps.maxEntries ?? 100_000;
  // Insertion order is age order: remembering again moves a key to the end.
  const expiries = new Map<string, number>();
  return {
    has(key) {
      const expiry = expiries.get(key);
      return Promise.resolve(expiry !== undefined && expiry > Date.now());
    },
    remember(key) {
      expiries.delete(key);
      expiries.set(key, Date.now() + ttlMs);
      if (expiries.size > maxEntries) expiries.delete(expiries.keys().next().value!);
      return Promise.resolve();
    },
  };
}
