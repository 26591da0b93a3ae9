import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Config } from '../internal/config';
import { createKnownAddresses } from './known-addresses';
import { TooManyRequestsError } from '../utils/errors';

export type AccountOf = (req: Request) => string | undefined;

export const KNOWN_ADDRESS_DAYS = 30;
const HOUR_SECONDS = 60 * 60;

export interface AuthRateLimits {
  /** Every attempt from one client address, whatever the account. */
  perIp: RequestHandler;
  /** Every attempt for one account (registration: one email), whatever the address. */
  perAccount: (endpoint: string, accountOf: AccountOf) => RequestHandler;
  /**
   * Failed attempts for one account from one address. Guesses from elsewhere cannot lock a partner out of
   * its own credentials, and successful attempts never count.
   */
  failuresPerAccountAndAddress: (endpoint: string, accountOf: AccountOf) => RequestHandler;
  /**
   * Failed attempts for one account, over an hour, from addresses it has not signed in from (within
   * `KNOWN_ADDRESS_DAYS`): guesses spread over many addresses buy no more than this budget, while the
   * owner, from an address it used before, is never held by it (the per-address limit still applies).
   * During an attack a sign-in from a new address waits for the window, the price of the budget.
   */
  failuresPerAccountFromNewAddresses: (endpoint: string, accountOf: AccountOf) => RequestHandler;
  /** Successful client-credentials grants per client; generous, since a token serves for its lifetime. */
  grantsPerClient: (clientOf: AccountOf) => RequestHandler;
}

/**
 * Limits for the endpoints that guess passwords or secrets. Counters live in Redis when REDIS_URL is set,
 * so every instance shares them; otherwise in this process's memory. Requests without an account pass the
 * account limits (the per-address limit still applies).
 */
export function createAuthRateLimits(deps: {
  config: Pick<Config, 'rateLimit'>;
  redis: Redis | undefined;
  /** Told which limit refused a request (its identifier, e.g. `auth-ip`), for the metrics. */
  onRejected?: (limit: string) => void;
}): AuthRateLimits {
  const { windowSeconds, authPerIp, authPerAccount, accountFailuresPerHour, tokenGrantsPerClient } =
    deps.config.rateLimit;
  const knownAddresses = createKnownAddresses({
    redis: deps.redis,
    ttlMs: KNOWN_ADDRESS_DAYS * 24 * HOUR_SECONDS * 1000,
  });
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
  };
  const accountKey = (accountOf: AccountOf) => (req: Request) => `account:${accountOf(req)!.toLowerCase()}`;
  const accountAndAddressKey = (accountOf: AccountOf) => (req: Request) =>
    `${accountKey(accountOf)(req)}:address:${ipKeyGenerator(req.ip ?? '')}`;
  const limiter = (
    identifier: string,
    limit: number,
    options: Parameters<typeof rateLimit>[0] = {},
    policyWindowSeconds = windowSeconds,
  ) =>
    rateLimit({
      ...common,
      windowMs: policyWindowSeconds * 1000,
      limit,
      identifier,
      handler: ((_req, _res, next) => {
        deps.onRejected?.(identifier);
        next(new TooManyRequestsError(policyWindowSeconds));
      }) satisfies RequestHandler,
      ...options,
      ...optional('store', store(identifier.replace(/^auth-account-/, 'auth-account:'))),
    });
  return {
    perIp: limiter('auth-ip', authPerIp),
    perAccount: (endpoint, accountOf) =>
      limiter(`auth-account-${endpoint}`, authPerAccount, {
        skip: (req) => accountOf(req) === undefined,
        keyGenerator: accountKey(accountOf),
      }),
    failuresPerAccountAndAddress: (endpoint, accountOf) =>
      limiter(`auth-account-${endpoint}`, authPerAccount, {
        skip: (req) => accountOf(req) === undefined,
        keyGenerator: accountAndAddressKey(accountOf),
        skipSuccessfulRequests: true,
      }),
    failuresPerAccountFromNewAddresses: (endpoint, accountOf) => {
      const addressKey = accountAndAddressKey(accountOf);
      const limit = limiter(
        `auth-account-${endpoint}-new-addresses`,
        accountFailuresPerHour,
        {
          // An address that cannot be looked up (Redis away) counts as new: the budget still holds.
          skip: async (req) =>
            accountOf(req) === undefined || (await knownAddresses.has(addressKey(req)).catch(() => false)),
          keyGenerator: accountKey(accountOf),
          skipSuccessfulRequests: true,
        },
        HOUR_SECONDS,
      );
      return (req, res, next) => {
        if (accountOf(req) !== undefined) {
          res.on('finish', () => {
            if (res.statusCode < 400) knownAddresses.remember(addressKey(req)).catch(() => undefined);
          });
        }
        void limit(req, res, next);
      };
    },
    grantsPerClient: (clientOf) =>
      limiter('token-grants-client', tokenGrantsPerClient, {
        skip: (req) => clientOf(req) === undefined,
        keyGenerator: accountKey(clientOf),
        skipFailedRequests: true,
      }),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
