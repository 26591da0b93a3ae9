import type { Request, RequestHandler } from 'express';
import { rateLimit, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Config } from '../internal/config';
import { TooManyRequestsError } from '../utils/errors';

export interface AuthRateLimits {
  perIp: RequestHandler;
  /** Keyed by the account a request acts on (email, client id or user id); requests without one pass. */
  perAccount: (endpoint: string, accountOf: (req: Request) => string | undefined) => RequestHandler;
}

/**
 * Limits for the endpoints that guess passwords or secrets. Counters live in Redis when REDIS_URL is set,
 * so every instance shares them; otherwise in this process's memory.
 */
export function createAuthRateLimits(deps: {
  config: Pick<Config, 'rateLimit'>;
  redis: Redis | undefined;
}): AuthRateLimits {
  const { windowSeconds, authPerIp, authPerAccount } = deps.config.rateLimit;
  const store = (prefix: string): Store | undefined =>
    deps.redis
      ? new RedisStore({
          prefix: `rl:${prefix}:`,
          sendCommand: (command: string, ...args: string[]) =>
            deps.redis!.call(command, ...args) as Promise<RedisReply>,
        })
      : undefined;
  const common = {
    windowMs: windowSeconds * 1000,
    standardHeaders: 'draft-8' as const,
    legacyHeaders: false,
    handler: ((_req, _res, next) => next(new TooManyRequestsError(windowSeconds))) satisfies RequestHandler,
  };
  return {
    perIp: rateLimit({
      ...common,
      limit: authPerIp,
      identifier: 'auth-ip',
      ...optional('store', store('auth-ip')),
    }),
    // Each endpoint counts attempts per account on its own, in memory and in Redis alike.
    perAccount: (endpoint, accountOf) =>
      rateLimit({
        ...common,
        limit: authPerAccount,
        identifier: `auth-account-${endpoint}`,
        skip: (req) => accountOf(req) === undefined,
        keyGenerator: (req) => `account:${accountOf(req)!.toLowerCase()}`,
        ...optional('store', store(`auth-account:${endpoint}`)),
      }),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
