/**
 * The mixed workload of `make load`: reads and idempotent writes driven by autocannon, and password and
 * refresh grants paced below the token endpoint's per-address limit. Everything it needs it creates
 * through the API: one user, signed in, with a few items to read.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type autocannon from 'autocannon';
import type { Scenario } from '../bench/load';
import { createItem, cycle, get } from '../bench/scenarios';

export interface Session {
  email: string;
  password: string;
  /** The latest access and refresh tokens; every grant in the run replaces them. */
  accessToken: string;
  refreshToken: string;
  itemIds: string[];
}

/** What one operation did during the run. */
export interface OperationStats {
  operation: string;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Requests that got no response (connection errors, timeouts). */
  noResponse: number;
}

const FORM = 'application/x-www-form-urlencoded';
const SEED_ITEMS = 50;

async function call(base: string, path: string, init: RequestInit): Promise<Response> {
  return fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
}

async function expectStatus(res: Response, status: number, what: string): Promise<unknown> {
  if (res.status !== status) throw new Error(`${what} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

function tokenGrant(base: string, form: Record<string, string>): Promise<Response> {
  return call(base, '/v1/auth/token', {
    method: 'POST',
    headers: { 'content-type': FORM },
    body: new URLSearchParams(form),
  });
}

/** Registers a user of its own (3 requests to the rate-limited endpoints) and creates items to read. */
export async function prepareSession(base: string): Promise<Session> {
  const email = `load-${randomUUID()}@example.com`;
  const password = `load-${randomBytes(12).toString('hex')}`;
  await expectStatus(
    await call(base, '/v1/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, name: 'Load generator' }),
    }),
    201,
    'POST /v1/auth/register',
  );
  const tokens = (await expectStatus(
    await tokenGrant(base, { grant_type: 'password', username: email, password }),
    200,
    'the password grant',
  )) as { access_token: string; refresh_token: string };
  const session: Session = {
    email,
    password,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    itemIds: [],
  };
  for (let n = 0; n < SEED_ITEMS; n += 1) {
    const item = (await expectStatus(
      await call(base, '/v1/items', {
        method: 'POST',
        headers: { ...bearer(session), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ name: `Load item ${n}`, tags: ['load'] }),
      }),
      201,
      'POST /v1/items',
    )) as { id: string };
    session.itemIds.push(item.id);
  }
  return session;
}

const bearer = (session: Session) => ({ authorization: `Bearer ${session.accessToken}` });

/** The autocannon-driven part, `connections` split over the operations by weight. */
export function readWriteScenarios(session: Session, connections: number): Scenario[] {
  const share = (weight: number) => Math.max(1, Math.round(connections * weight));
  const itemId = cycle(session.itemIds);
  // Read at every request: the grants below replace the session's token during the run.
  const token = () => session.accessToken;
  return [
    { name: 'GET /v1/users/me', connections: share(0.2), requests: [get(() => '/v1/users/me', token)] },
    {
      name: 'GET /v1/items/{item_id}',
      connections: share(0.25),
      requests: [get(() => `/v1/items/${itemId()}`, token)],
    },
    {
      name: 'GET /v1/items?limit=20',
      connections: share(0.2),
      requests: [get(() => '/v1/items?limit=20', token)],
    },
    {
      name: 'POST /v1/items (Idempotency-Key)',
      connections: share(0.35),
      requests: [createItem(token, { name: 'Load item', tags: ['load'], metadata: { source: 'make load' } })],
    },
  ];
}

export function statsFromAutocannon(operation: string, result: autocannon.Result): OperationStats {
  const statuses: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stats.count ?? 0;
  return {
    operation,
    requests: result.requests.total,
    reqPerSec: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    statuses,
    noResponse: result.errors + result.timeouts,
  };
}

/**
 * Password and refresh grants, one after the other at `perMinute` in all, until `deadline`
 * (performance.now()). Each successful grant hands its tokens to the reads and writes, so the run
 * outlives an access token. The token endpoint allows RATE_LIMIT_AUTH_PER_IP requests per address and
 * window (30 a minute by default): keep `perMinute` under it, or raise it on the server.
 */
export async function driveGrants(
  base: string,
  session: Session,
  perMinute: number,
  deadline: number,
): Promise<OperationStats[]> {
  const kinds = ['password', 'refresh_token'] as const;
  const latencies = { password: [] as number[], refresh_token: [] as number[] };
  const statuses = { password: {} as Record<string, number>, refresh_token: {} as Record<string, number> };
  const noResponse = { password: 0, refresh_token: 0 };
  const started = performance.now();
  const interval = 60_000 / perMinute;
  for (let n = 0; ; n += 1) {
    const due = started + n * interval;
    if (due >= deadline) break;
    await delay(Math.max(0, due - performance.now()));
    const kind = kinds[n % 2]!;
    const form: Record<string, string> =
      kind === 'password'
        ? { grant_type: 'password', username: session.email, password: session.password }
        : { grant_type: 'refresh_token', refresh_token: session.refreshToken };
    const sent = performance.now();
    try {
      const res = await tokenGrant(base, form);
      latencies[kind].push(performance.now() - sent);
      statuses[kind][res.status] = (statuses[kind][res.status] ?? 0) + 1;
      const body = (await res.json()) as { access_token?: string; refresh_token?: string };
      if (res.status === 200 && body.access_token && body.refresh_token) {
        session.accessToken = body.access_token;
        session.refreshToken = body.refresh_token;
      }
    } catch {
      noResponse[kind] += 1;
    }
  }
  const seconds = (Math.min(performance.now(), deadline) - started) / 1000;
  return kinds.map((kind) => {
    const sorted = [...latencies[kind]].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    const requests = sorted.length + noResponse[kind];
    return {
      operation: `POST /v1/auth/token (${kind === 'password' ? 'password' : 'refresh'})`,
      requests,
      reqPerSec: seconds > 0 ? requests / seconds : 0,
      p50Ms: at(0.5),
      p90Ms: at(0.9),
      p99Ms: at(0.99),
      statuses: statuses[kind],
      noResponse: noResponse[kind],
    };
  });
}
