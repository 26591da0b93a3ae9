/**
 * What each rate limit costs a request: every limit `x-rate-limits` can name runs alone, in this process,
 * on requests from 1,000 callers, and the CPU it used is divided by the requests it saw. In memory always;
 * through Redis too when REDIS_URL is set (then the round trip's wall time is printed beside; the keys it
 * writes expire within the hour). Part of `make bench`; prints figures, asserts nothing.
 *
 *   npx tsx scripts/bench/limiter-cost.ts
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx scripts/bench/limiter-cost.ts
 */
import type { Request, RequestHandler, Response } from 'express';
import { Redis } from 'ioredis';
import { createCallerRateLimit } from '../../src/dependencies/caller-rate-limit';
import { createAuthRateLimits } from '../../src/dependencies/rate-limit';
import { createRateLimitPolicies, RATE_LIMIT_POLICIES } from '../../src/dependencies/rate-limit-policies';
import { loadConfig } from '../../src/internal/config';

const REQUESTS = Number(process.env.LIMITER_REQUESTS ?? 50_000);
const WARM_UP = 5_000;

/** Just enough of a request for the limiters: a principal, an address, a token request's account. */
function requestFrom(caller: number, res: Response): Request {
  const id = `00000000-0000-4000-8000-${String(caller).padStart(12, '0')}`;
  return {
    principal: { kind: 'user', id, role: 'user', sessionId: undefined, scopes: new Set() },
    ip: `198.51.${caller % 250}.${Math.floor(caller / 250) % 250}`,
    headers: {},
    body: { grant_type: 'client_credentials', client_id: id, email: `${id}@example.com` },
    get: () => undefined,
    app: { get: () => false },
    res,
  } as unknown as Request;
}

function responseStub(): Response {
  const res = {
    statusCode: 200,
    headersSent: false,
    locals: {},
    append: () => res,
    setHeader: () => res,
    getHeader: () => undefined,
    on: () => res,
    once: () => res,
  };
  return res as unknown as Response;
}

async function run(handler: RequestHandler, requests: number): Promise<{ cpuUs: number; wallUs: number }> {
  const res = responseStub();
  const once = (n: number) =>
    new Promise<void>((resolve) => void handler(requestFrom(n % 1000, res), res, () => resolve()));
  for (let n = 0; n < WARM_UP; n += 1) await once(n);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let n = 0; n < requests; n += 1) await once(n);
  const used = process.cpuUsage(cpu);
  return {
    cpuUs: (used.user + used.system) / requests,
    wallUs: ((performance.now() - started) * 1000) / requests,
  };
}

const print = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL;
  const stores: Array<[string, Redis | undefined]> = [['memory', undefined]];
  if (redisUrl) stores.push(['Redis', new Redis(redisUrl)]);
  print(`== what each rate limit costs a request (${REQUESTS} requests from 1,000 callers)`);
  print('policy                                store   CPU us/request  wall us/request');
  for (const [store, redis] of stores) {
    // Limits too high to refuse anything: the cost of counting, not of refusing.
    const config = loadConfig({
      NODE_ENV: 'test',
      PGLITE_DATA_DIR: 'memory://',
      RATE_LIMIT_AUTH_PER_IP: '1000000000',
      RATE_LIMIT_AUTH_PER_ACCOUNT: '1000000000',
      RATE_LIMIT_AUTH_ACCOUNT_FAILURES_PER_HOUR: '1000000000',
      RATE_LIMIT_TOKEN_GRANTS_PER_CLIENT: '1000000000',
      RATE_LIMIT_CALLER_USER: '1000000000',
    });
    const policyFor = createRateLimitPolicies({
      auth: createAuthRateLimits({ config, redis }),
      caller: createCallerRateLimit({ config, redis }),
    });
    for (const policy of RATE_LIMIT_POLICIES) {
      const [handler] = policyFor({
        operationId: policy,
        method: 'post',
        path: '/',
        operation: { 'x-rate-limits': [policy] },
      });
      const requests = redis ? Math.min(REQUESTS, 10_000) : REQUESTS;
      const { cpuUs, wallUs } = await run(handler!, requests);
      print(
        `${policy.padEnd(38)}${store.padEnd(8)}${cpuUs.toFixed(1).padStart(14)}${wallUs.toFixed(1).padStart(17)}`,
      );
    }
    redis?.disconnect();
  }
}

void main();
