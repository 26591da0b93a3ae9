import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../internal/config';
import { TooManyRequestsError } from '../utils/errors';

/** The `RateLimit-Policy` name of the budget every caller spends, whatever the operation. */
export const CALLER_POLICY = 'caller';

/** What one request costs, by the class its operation names in `x-rate-limits` (`caller-read`, ...). */
export const CALLER_COSTS = { read: 1, list: 5, write: 10 } as const;
export type CallerCostClass = keyof typeof CALLER_COSTS;

type CallerKind = 'user' | 'client' | 'anonymous';

/**
 * One budget per caller and window, spent by every operation at its class's cost: a user or partner client
 * by its id, an anonymous caller by its address (an IPv6 caller by its /56). Counters live in Redis when
 * REDIS_URL is set, shared by every instance (this process's memory stands in while Redis is away);
 * otherwise in this process's memory. A 304 gives its cost back (revalidating a cached copy is free), and so
 * does a refused request.
 * Every response the limit sees carries `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers,
 * the syntax express-rate-limit's `draft-8` writes for the credential policies beside it).
 */
export function createCallerRateLimit(deps: {
  config: Pick<Config, 'rateLimit'>;
  redis: Redis | undefined;
  onRejected?: (limit: string) => void;
}): (costClass: CallerCostClass) => RequestHandler {
  const { windowSeconds, callerPerUser, callerPerClient, callerPerAnonymousAddress } = deps.config.rateLimit;
  const quotas: Record<CallerKind, number> = {
    user: callerPerUser,
    client: callerPerClient,
    anonymous: callerPerAnonymousAddress,
  };
  const limiterFor = (kind: CallerKind): RateLimiterAbstract => {
    const options = {
      points: quotas[kind],
      duration: windowSeconds,
      keyPrefix: `rl:${CALLER_POLICY}:${kind}`,
    };
    return deps.redis
      ? new RateLimiterRedis({
          ...options,
          storeClient: deps.redis,
          insuranceLimiter: new RateLimiterMemory(options),
        })
      : new RateLimiterMemory(options);
  };
  const limiters: Record<CallerKind, RateLimiterAbstract> = {
    user: limiterFor('user'),
    client: limiterFor('client'),
    anonymous: limiterFor('anonymous'),
  };

  const callerOf = (req: Request): [CallerKind, string] =>
    req.principal ? [req.principal.kind, req.principal.id] : ['anonymous', ipKeyGenerator(req.ip ?? '')];

  return (costClass) => {
    const cost = CALLER_COSTS[costClass];
    return async (req, res, next) => {
      const [kind, id] = callerOf(req);
      const limiter = limiters[kind];
      const quota = quotas[kind];
      const announce = (state: RateLimiterRes, consumed: number) => {
        const resetSeconds = Math.max(0, Math.ceil(state.msBeforeNext / 1000));
        res.append('RateLimit-Policy', `"${CALLER_POLICY}"; q=${quota}; w=${windowSeconds}`);
        res.append('RateLimit', `"${CALLER_POLICY}"; r=${Math.max(0, quota - consumed)}; t=${resetSeconds}`);
        return resetSeconds;
      };
      let spent: RateLimiterRes;
      try {
        spent = await limiter.consume(id, cost);
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) return next(refusal);
        // The store counted the refused request too: give it back, so what is left still buys a cheaper one.
        await limiter.reward(id, cost).catch(() => undefined);
        const retryAfter = Math.max(1, announce(refusal, refusal.consumedPoints - cost));
        res.setHeader('Retry-After', String(retryAfter));
        deps.onRejected?.(CALLER_POLICY);
        return next(new TooManyRequestsError(retryAfter));
      }
      announce(spent, spent.consumedPoints);
      res.on('finish', () => {
        if (res.statusCode === 304) limiter.reward(id, cost).catch(() => undefined);
      });
      next();
    };
  };
}
