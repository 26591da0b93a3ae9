import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from './database';

/** Why a request's credentials were refused; a bounded set, so it can be a label. */
export type AuthFailureReason =
  | 'missing_credentials'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_grant'
  | 'invalid_client'
  | 'unauthorized_client';

export interface Metrics {
  /** Everything this instance exposes, in the Prometheus text format via `registry.metrics()`. */
  readonly registry: Registry;
  /** Counts, times and tracks every request; mounted first so nothing escapes it. */
  readonly observeRequests: RequestHandler;
  readonly authFailed: (reason: AuthFailureReason) => void;
  readonly rateLimited: (limit: string) => void;
  /** Pool gauges read at scrape time, and a latency histogram fed by the query builder's events. */
  readonly observeDatabase: (db: Database) => void;
}

// Seconds; from a cached token check (~1 ms) up to the statement timeout (5 s by default).
const REQUEST_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** Requests the spec has no operation for share one label, so a scanner cannot grow the series count. */
const UNMATCHED_OPERATION = 'unmatched';

type ValidatedRequest = Request & { openapi?: { schema?: { operationId?: string } } };

/**
 * The instance's metrics, in a registry of its own (no process-wide default registry, so every app and
 * every test has its own). Served on a separate listener (see metrics-server.ts), never on the API port.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requestLabels = ['operation', 'method', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'Requests answered, by operationId (or "unmatched"), method and status.',
    labelNames: requestLabels,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from the request reaching the app to the last byte of the response being handed to the socket.',
    labelNames: requestLabels,
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'http_requests_in_flight',
    help: 'Requests received and not yet answered.',
    registers: [registry],
  });
  const problems = new Counter({
    name: 'http_problems_total',
    help: 'RFC 9457 problem responses, by problem type.',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'auth_failures_total',
    help: 'Refused credentials: bearer tokens on any operation, and grants at the token endpoint.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const rateLimitRejections = new Counter({
    name: 'rate_limit_rejections_total',
    help: 'Requests refused with 429, by the limit that refused them.',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const idempotentReplays = new Counter({
    name: 'idempotent_replays_total',
    help: 'Responses replayed for a repeated Idempotency-Key instead of writing again.',
    labelNames: ['operation'] as const,
    registers: [registry],
  });

  const observeRequests: RequestHandler = (req, res, next) => {
    const started = performance.now();
    inFlight.inc();
    let done = false;
    // 'finish' when the response was sent, 'close' alone when the client hung up first: count either once.
    const onDone = () => {
      if (done) return;
      done = true;
      inFlight.dec();
      const operation = operationOf(req);
      const labels = { operation, method: req.method, status: res.statusCode };
      requests.inc(labels);
      requestDuration.observe(labels, (performance.now() - started) / 1000);
      if (res.locals.problemType) problems.inc({ type: res.locals.problemType });
      if (isReplay(res)) idempotentReplays.inc({ operation });
    };
    res.once('finish', onDone);
    res.once('close', onDone);
    next();
  };

  return {
    registry,
    observeRequests,
    authFailed: (reason) => authFailures.inc({ reason }),
    rateLimited: (limit) => rateLimitRejections.inc({ limit }),
    observeDatabase: (db) => observeDatabase(db, registry),
  };
}

function operationOf(req: Request): string {
  return (req as ValidatedRequest).openapi?.schema?.operationId ?? UNMATCHED_OPERATION;
}

function isReplay(res: Response): boolean {
  return res.getHeader('idempotent-replayed') === 'true';
}

interface KnexQueryEvent {
  __knexQueryUid: string;
  method?: string;
  options?: { name?: string };
}

/** tarn, the pool under knex; PGlite's single connection has a pool of one. */
interface Pool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

function observeDatabase(db: Knex, registry: Registry): void {
  const pool = (db.client as { pool?: Pool }).pool;
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database connections of this instance: used (lent to a query or transaction), idle, and waiting (requests queued for one).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const current = (db.client as { pool?: Pool }).pool ?? pool;
      if (!current) return;
      this.set({ state: 'used' }, current.numUsed());
      this.set({ state: 'idle' }, current.numFree());
      this.set({ state: 'waiting' }, current.numPendingAcquires());
    },
  });
  const queryDuration = new Histogram({
    name: 'db_query_duration_seconds',
    help: 'Query round trips, by named statement or query-builder method, and outcome.',
    labelNames: ['statement', 'outcome'] as const,
    buckets: QUERY_BUCKETS,
    registers: [registry],
  });
  const started = new Map<string, number>();
  const finish = (query: KnexQueryEvent, outcome: 'ok' | 'error') => {
    const at = started.get(query.__knexQueryUid);
    if (at === undefined) return;
    started.delete(query.__knexQueryUid);
    const statement = query.options?.name ?? query.method ?? 'raw';
    queryDuration.observe({ statement, outcome }, (performance.now() - at) / 1000);
  };
  db.on('query', (query: KnexQueryEvent) => started.set(query.__knexQueryUid, performance.now()));
  db.on('query-response', (_response: unknown, query: KnexQueryEvent) => finish(query, 'ok'));
  db.on('query-error', (_error: unknown, query: KnexQueryEvent) => finish(query, 'error'));
}
