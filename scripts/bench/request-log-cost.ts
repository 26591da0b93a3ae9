/**
 * What the request log costs a request, two ways. In isolation: the log's middleware on stub requests (the
 * `finish` listener, the entry, the buffer, the per-caller cap), writing to nowhere. End to end: the real
 * app on loopback (in-memory PGlite, or DATABASE_URL), `GET /v1/users/me` sequentially with the log off and
 * on, alternating, the process CPU (client, server and, on PGlite, the database, all in this process)
 * divided by the requests; the difference is the log, its batched INSERTs included. Part of `make bench`;
 * prints figures, asserts nothing.
 *
 *   npx tsx scripts/bench/request-log-cost.ts
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench npx tsx scripts/bench/request-log-cost.ts
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import pino from 'pino';
import { createRequestLog } from '../../src/dependencies/request-log';
import { RequestLogsRepository } from '../../src/repositories/request-logs.repository';
import { signIn, startBenchApp } from './bench-app';

const ISOLATED = Number(process.env.REQUEST_LOG_ISOLATED ?? 100_000);
const REQUESTS = Number(process.env.REQUEST_LOG_REQUESTS ?? 2_000);
const ROUNDS = Number(process.env.REQUEST_LOG_ROUNDS ?? 3);
const print = (line: string) => process.stdout.write(`${line}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function isolated(): number {
  const log = createRequestLog({
    config: {
      enabled: true,
      retentionDays: 30,
      flushIntervalMs: 1000,
      batchSize: 500,
      maxPerCallerPerDay: 1e9,
    },
    insertMany: () => Promise.resolve(),
    logger: pino({ level: 'silent' }),
  });
  const once = (n: number) => {
    const res = Object.assign(new EventEmitter(), {
      statusCode: 200,
      locals: {},
      getHeader: () => undefined,
    }) as unknown as Response;
    const req = {
      method: 'GET',
      path: '/v1/items',
      ip: '203.0.113.7',
      id: randomUUID(),
      principal: { kind: 'user', id: `00000000-0000-4000-8000-${String(n % 1000).padStart(12, '0')}` },
      openapi: { openApiRoute: '/v1/items', schema: { operationId: 'listItems' } },
      get: () => undefined,
    } as unknown as Request;
    log.middleware(req, res, () => undefined);
    (res as unknown as EventEmitter).emit('finish');
  };
  for (let n = 0; n < 10_000; n += 1) once(n);
  const cpu = process.cpuUsage();
  for (let n = 0; n < ISOLATED; n += 1) once(n);
  const used = process.cpuUsage(cpu);
  void log.close();
  return (used.user + used.system) / ISOLATED;
}

/** The batch INSERT alone: CPU in this process (and wall time) per entry, in batches of 500. */
async function batchWrite(): Promise<{ cpuUs: number; wallUs: number }> {
  const app = await startBenchApp();
  try {
    const repository = new RequestLogsRepository({ db: app.database.db });
    const entry = (n: number) => ({
      occurred_at: new Date().toISOString(),
      caller_type: 'user' as const,
      caller_id: `00000000-0000-4000-8000-${String(n % 1000).padStart(12, '0')}`,
      operation_id: 'listItems',
      method: 'GET' as const,
      route: '/v1/items',
      status: 400,
      problem_type: '/problems/validation-error',
      errors: [{ location: 'query' as const, pointer: '/limit' }],
      duration_ms: 1.25,
      request_id: randomUUID(),
      idempotency_key_sha256: null,
      api_version: null,
      client_address: '203.0.113.7',
    });
    const batches = 40;
    const batch = Array.from({ length: 500 }, (_, n) => entry(n));
    await repository.insertMany(batch);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let n = 0; n < batches; n += 1) await repository.insertMany(batch);
    const used = process.cpuUsage(cpu);
    const rows = batches * batch.length;
    return { cpuUs: (used.user + used.system) / rows, wallUs: ((performance.now() - started) * 1000) / rows };
  } finally {
    await app.stop();
  }
}

async function endToEnd(enabled: boolean): Promise<number> {
  process.env.REQUEST_LOG = String(enabled);
  process.env.REQUEST_LOG_MAX_PER_CALLER_PER_DAY = '1000000000';
  const app = await startBenchApp();
  try {
    const email = `bench-${randomUUID()}@example.com`;
    const password = 'violet-kettle-orbit-42';
    await fetch(`${app.base}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, name: 'Bench' }),
    });
    const token = await signIn(app.base, email, password);
    const call = async () => {
      const res = await fetch(`${app.base}/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`answered ${res.status}`);
    };
    for (let n = 0; n < 200; n += 1) await call();
    const cpu = process.cpuUsage();
    for (let n = 0; n < REQUESTS; n += 1) await call();
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / REQUESTS;
  } finally {
    await app.stop();
  }
}

async function main(): Promise<void> {
  print(`== what the request log costs a request`);
  print(
    `in isolation (middleware, entry, buffer; ${ISOLATED} requests): ${isolated().toFixed(2)} CPU us/request`,
  );
  const written = await batchWrite();
  print(
    `batch INSERT (500 rows a statement): ${written.cpuUs.toFixed(1)} CPU us/entry in this process, ${written.wallUs.toFixed(1)} us/entry wall`,
  );
  const off: number[] = [];
  const on: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    off.push(await endToEnd(false));
    on.push(await endToEnd(true));
  }
  const store = process.env.DATABASE_URL
    ? 'PostgreSQL (its server CPU not counted)'
    : 'PGlite (in this process)';
  print(`end to end, GET /v1/users/me x ${REQUESTS}, ${ROUNDS} rounds, ${store}:`);
  print(`  log off ${median(off).toFixed(0)} CPU us/request (${off.map((v) => v.toFixed(0)).join(', ')})`);
  print(`  log on  ${median(on).toFixed(0)} CPU us/request (${on.map((v) => v.toFixed(0)).join(', ')})`);
  print(`  difference ${(median(on) - median(off)).toFixed(0)} CPU us/request`);
}

void main();
