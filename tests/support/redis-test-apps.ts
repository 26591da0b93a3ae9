import type { Express } from 'express';
import { Redis } from 'ioredis';
import { createApp } from '../../src/app';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { loadSigningKeys } from '../../src/infrastructure/signing-keys';
import type { Config } from '../../src/internal/config';
import { captureLogs, testConfig } from './test-app';
import { createTestDatabase } from './test-database';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface RedisTestInstance {
  app: Express;
  redis: Redis;
}

export interface RedisTestApps {
  config: Config;
  database: DatabaseHandle;
  /** Separate app instances, each with its own Redis connection, sharing one database and one Redis server. */
  instances: RedisTestInstance[];
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Like createTestApp, but builds `count` app instances the way main.ts does with REDIS_URL set: each gets its own
 * ioredis client, so rate-limit counters are shared through Redis exactly as between production replicas.
 */
export async function createRedisTestApps(
  options: { count?: number; env?: Record<string, string> } = {},
): Promise<RedisTestApps> {
  const config = testConfig({ REDIS_URL: TEST_REDIS_URL, ...options.env });
  const { logger, logs } = captureLogs();
  const database = await createTestDatabase();
  const signingKeys = loadSigningKeys(config.auth, logger);
  const instances: RedisTestInstance[] = [];
  for (let index = 0; index < (options.count ?? 2); index += 1) {
    const redis = new Redis(config.redisUrl!, { maxRetriesPerRequest: 2 });
    redis.on('error', (error) => logger.error({ err: error }, 'redis: connection error'));
    instances.push({ app: createApp({ config, logger, db: database.db, signingKeys, redis }), redis });
  }
  return {
    config,
    database,
    instances,
    logs,
    close: async () => {
      await Promise.all(instances.map(({ redis }) => redis.quit()));
      await database.close();
    },
  };
}

/** Deletes the rate-limit counters a test created for these accounts (never anything else in Redis). */
export async function deleteAccountCounters(redis: Redis, accounts: readonly string[]): Promise<void> {
  const keys = await Promise.all(
    accounts.flatMap((account) =>
      ['register', 'token', 'revoke', 'password'].map((endpoint) =>
        redis.keys(`rl:auth-account:${endpoint}:account:${account.toLowerCase()}*`),
      ),
    ),
  );
  if (keys.flat().length > 0) await redis.del(...keys.flat());
}
