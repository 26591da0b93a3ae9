/**
 * Webhook delivery latency through the real worker on PostgreSQL: RATE events a second for DURATION_S
 * seconds, each written like the outbox writer does (event row and pending delivery in one transaction)
 * and followed by a nudge, delivered to one loopback receiver. Latency runs from the event's
 * `occurred_at` (the writing transaction's now()) to the receiver reading the request. Prints figures;
 * asserts nothing.
 *
 * SLOW_S=N adds another partner's endpoint whose receiver answers after N seconds, with SLOW_BACKLOG
 * events (30) queued for it before the load starts: the figures are then the fast receiver's with a slow
 * one beside it (compare with a run without SLOW_S).
 *
 *   npx tsx scripts/webhooks/delivery-latency.ts
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test RATE=100 DURATION_S=30 WORKERS=1 npx tsx scripts/webhooks/delivery-latency.ts
 *   RATE=10 DURATION_S=3 SLOW_S=9 npx tsx scripts/webhooks/delivery-latency.ts
 *
 * It creates and drops its own database, webhook_latency_<pid>, on DATABASE_URL's server.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import knex, { type Knex } from 'knex';
import pino from 'pino';
import { createPgKnex } from '../../src/infrastructure/database';
import { migrateToLatest } from '../../src/infrastructure/migrations';
import { deliveryQueue } from '../../src/webhooks/webhook-delivery';
import { WebhookDeliveriesRepository } from '../../src/repositories/webhook-deliveries.repository';
import { createDeliveryWorker } from '../../src/webhooks/delivery-worker';
import { createWebhookPayloadValidator } from '../../src/webhooks/payload-validator';
import { createWebhookSender } from '../../src/webhooks/webhook-sender';

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RATE = Number(process.env.RATE ?? 100);
const SECONDS = Number(process.env.DURATION_S ?? 30);
const WORKERS = Number(process.env.WORKERS ?? 1);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);
const SLOW_S = Number(process.env.SLOW_S ?? 0);
const SLOW_BACKLOG = SLOW_S > 0 ? Number(process.env.SLOW_BACKLOG ?? 30) : 0;

const out = (line: string) => process.stdout.write(`${line}\n`);
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

const DOCUMENT = {
  openapi: '3.1.0',
  webhooks: {
    'item.updated': {
      post: {
        requestBody: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['id', 'type', 'occurred_at', 'data'],
                properties: {
                  id: { type: 'string', format: 'uuid' },
                  type: { const: 'item.updated' },
                  occurred_at: { type: 'string', format: 'date-time' },
                  data: { type: 'object' },
                },
              },
            },
          },
        },
      },
    },
  },
};

async function main(): Promise<void> {
  const name = `webhook_latency_${process.pid}`;
  const adminUrl = new URL(SERVER_URL);
  const admin = knex({ client: 'pg', connection: adminUrl.toString(), pool: { min: 0, max: 1 } });
  await admin.raw('CREATE DATABASE ??', [name]);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const pools = Array.from({ length: WORKERS + 1 }, () =>
    createPgKnex({
      url: url.toString(),
      poolMin: 0,
      poolMax: 10,
      statementTimeoutMs: 5000,
      acquireTimeoutMs: 5000,
      connectTimeoutMs: 5000,
      queryTimeoutMs: 10000,
    }),
  );
  const [db, ...workerPools] = pools as [Knex, ...Knex[]];
  const received = new Map<string, number>();
  let duplicates = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = Date.now();
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { occurred_at: string; id: string };
      if (received.has(event.id)) duplicates += 1;
      else received.set(event.id, at - Date.parse(event.occurred_at));
      res.writeHead(204).end();
    });
  });
  const slow = { received: 0, inFlight: 0, maxInFlight: 0 };
  const slowServer = http.createServer((req, res) => {
    req.resume();
    slow.received += 1;
    slow.maxInFlight = Math.max(slow.maxInFlight, (slow.inFlight += 1));
    setTimeout(() => {
      slow.inFlight -= 1;
      res.writeHead(204).end();
    }, SLOW_S * 1000);
  });
  const listen = async (s: http.Server) => {
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}/hooks`;
  };
  const target = await listen(server);
  const slowTarget = await listen(slowServer);

  const workers = workerPools.map((pool) =>
    createDeliveryWorker({
      repository: deliveryQueue(pool, new WebhookDeliveriesRepository({ db: pool })),
      send: createWebhookSender({ policy: { allowLoopbackHttp: true } }),
      openSecret: (sealed) => Buffer.from(sealed).toString(),
      validatePayload: createWebhookPayloadValidator(DOCUMENT),
      logger: pino({ level: 'warn' }),
      concurrency: CONCURRENCY,
    }),
  );
  try {
    await migrateToLatest(db);
    const [owner] = await db('users').insert({ name: 'Latency' }).returning<Array<{ id: string }>>('id');
    const [endpoint, slowEndpoint] = await db('webhook_endpoints')
      .insert(
        [target, slowTarget].map((url) => ({
          owner_user_id: owner!.id,
          url,
          event_types: ['item.updated'],
          secret_sealed: Buffer.from(`whsec_${randomBytes(24).toString('base64')}`),
        })),
      )
      .returning<Array<{ id: string }>>('id');
    for (let i = 0; i < SLOW_BACKLOG; i += 1) await enqueue(db, slowEndpoint!.id);
    for (const worker of workers) worker.start();

    const total = RATE * SECONDS;
    const load = [loadavg()[0]!];
    const started = Date.now();
    const enqueueMs: number[] = [];
    for (let i = 0; i < total; i += 1) {
      const due = started + (i * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const before = Date.now();
      await enqueue(db, endpoint!.id);
      enqueueMs.push(Date.now() - before);
      // The writer nudges its own instance's worker after the commit; here one process holds them all.
      workers[i % workers.length]!.nudge();
      if (i % RATE === 0) load.push(loadavg()[0]!);
    }
    const enqueuedIn = (Date.now() - started) / 1000;
    const deadline = Date.now() + 30_000 + (SLOW_S * 1000 * SLOW_BACKLOG) / CONCURRENCY;
    while (received.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    load.push(loadavg()[0]!);

    const latencies = [...received.values()].sort((a, b) => a - b);
    const enqueueSorted = enqueueMs.sort((a, b) => a - b);
    out(
      `events: ${total} at ${RATE}/s (enqueued in ${enqueuedIn.toFixed(1)} s), workers: ${WORKERS} x concurrency ${CONCURRENCY}`,
    );
    out(`received: ${received.size}, duplicates: ${duplicates}`);
    if (SLOW_S > 0)
      out(
        `slow endpoint (answers after ${SLOW_S} s, ${SLOW_BACKLOG} queued first): ${slow.received} received, ` +
          `at most ${slow.maxInFlight} at once`,
      );
    out(
      `fast receiver, occurred_at -> receipt ms: p50 ${percentile(latencies, 50)}, p90 ${percentile(latencies, 90)}, ` +
        `p99 ${percentile(latencies, 99)}, max ${latencies[latencies.length - 1]}`,
    );
    out(`enqueue transaction ms: p50 ${percentile(enqueueSorted, 50)}, p99 ${percentile(enqueueSorted, 99)}`);
    out(`load average (1 min) during the run: ${load.map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    for (const s of [server, slowServer]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    await Promise.all(pools.map((pool) => pool.destroy()));
    await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
    await admin.destroy();
  }
}

async function enqueue(db: Knex, endpointId: string): Promise<void> {
  const eventId = randomUUID();
  const resourceId = randomUUID();
  await db.transaction(async (trx) => {
    const [event] = await trx('webhook_events')
      .insert({
        id: eventId,
        type: 'item.updated',
        resource_type: 'item',
        resource_id: resourceId,
        // The envelope's occurred_at is the row's, as the outbox writer builds it.
        payload: trx.raw(
          "jsonb_build_object('id', ?::text, 'type', 'item.updated', 'occurred_at', " +
            "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'data', jsonb_build_object('id', ?::text))",
          [eventId, resourceId],
        ),
      })
      .returning<Array<{ sequence: number }>>('sequence');
    await trx('webhook_deliveries').insert({
      endpoint_id: endpointId,
      event_id: eventId,
      event_sequence: event!.sequence,
      resource_id: resourceId,
    });
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
