import { randomBytes, randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import pino, { type Logger } from 'pino';
import { WebhookVerificationError } from '../../sdk';
import type { WebhooksDocument } from '../../src/webhooks/payload-validator';
import { insertUser } from './repository-fixtures';
import { urlForDatabase } from './template-database';
import { testPool } from './test-database';
import { LATEST_API_VERSION } from '../../src/versions/catalog';

/**
 * Stand-ins for secret-box.ts: the "sealed" secret is the secret's bytes. The worker only ever sees
 * `openSecret`, so swapping in the real pair changes nothing here.
 */
export const sealSecret = (secret: string): Buffer => Buffer.from(secret);
export const openSecret = (sealed: Uint8Array): string => Buffer.from(sealed).toString();
export const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

/** A small spec with a `webhooks` section, standing in for the real one. */
export const WEBHOOKS_DOCUMENT: WebhooksDocument = {
  openapi: '3.1.0',
  info: { title: 'webhooks under test', version: '1' },
  paths: {},
  webhooks: Object.fromEntries(
    ['item.created', 'item.updated'].map((type) => [
      type,
      {
        post: {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ItemEvent' } } },
          },
          responses: { '200': { description: 'Received.' } },
        },
      },
    ]),
  ),
  components: {
    schemas: {
      ItemEvent: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'type', 'occurred_at', 'data'],
        properties: {
          id: { type: 'string', format: 'uuid' },
          type: { type: 'string', enum: ['item.created', 'item.updated'] },
          occurred_at: { type: 'string', format: 'date-time' },
          data: { $ref: '#/components/schemas/Item' },
        },
        example: { id: '00000000-0000-4000-8000-000000000000' },
      },
      Item: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name'],
        properties: { id: { type: 'string', format: 'uuid' }, name: { type: 'string', minLength: 1 } },
      },
    },
  },
};

/** A simulated clock the worker and the repository read; tests move it instead of sleeping. */
export function simulatedClock(start: Date) {
  let now = start;
  return {
    now: () => now,
    set: (at: Date) => (now = at),
    advance: (ms: number) => (now = new Date(now.getTime() + ms)),
  };
}

export interface EndpointFixture {
  id: string;
  url: string;
  secret: string;
}

export async function insertEndpoint(
  db: Knex,
  url: string,
  fields: Partial<{
    previousSecret: string;
    previousSecretExpiresAt: Date;
    failingSince: Date;
    eventTypes: string[];
  }> = {},
): Promise<EndpointFixture> {
  const owner = await insertUser(db);
  const secret = newSecret();
  const [row] = await db('webhook_endpoints')
    .insert({
      owner_user_id: owner.id,
      url,
      event_types: fields.eventTypes ?? ['item.created', 'item.updated'],
      secret_sealed: sealSecret(secret),
      previous_secret_sealed: fields.previousSecret ? sealSecret(fields.previousSecret) : null,
      previous_secret_expires_at: fields.previousSecretExpiresAt?.toISOString() ?? null,
      failing_since: fields.failingSince?.toISOString() ?? null,
      api_version: LATEST_API_VERSION,
    })
    .returning<Array<{ id: string }>>('id');
  return { id: row!.id, url, secret };
}

export interface EventFixture {
  eventId: string;
  deliveryIds: string[];
  payload: { id: string; type: string; occurred_at: string; data: Record<string, unknown> };
}

/**
 * An event and one pending delivery per endpoint, written together like the outbox writer does. `data`
 * overrides the item (to make a payload the spec refuses).
 */
export async function insertEvent(
  db: Knex,
  endpointIds: readonly string[],
  fields: Partial<{ resourceId: string; type: string; at: Date; data: Record<string, unknown> }> = {},
): Promise<EventFixture> {
  const resourceId = fields.resourceId ?? randomUUID();
  const at = (fields.at ?? new Date()).toISOString();
  const eventId = randomUUID();
  const type = fields.type ?? 'item.updated';
  const payload = {
    id: eventId,
    type,
    occurred_at: at,
    data: fields.data ?? { id: resourceId, name: `item ${randomBytes(3).toString('hex')}` },
  };
  return db.transaction(async (trx) => {
    const [event] = await trx('webhook_events')
      .insert({ id: eventId, type, occurred_at: at, resource_type: 'item', resource_id: resourceId, payload })
      .returning<Array<{ sequence: number }>>('sequence');
    const deliveries =
      endpointIds.length === 0
        ? []
        : await trx('webhook_deliveries')
            .insert(
              endpointIds.map((endpointId) => ({
                endpoint_id: endpointId,
                event_id: eventId,
                event_sequence: event!.sequence,
                resource_id: resourceId,
                next_attempt_at: at,
                created_at: at,
              })),
            )
            .returning<Array<{ id: string }>>('id');
    return { eventId, deliveryIds: deliveries.map((d) => d.id), payload };
  });
}

export interface DeliveryRow {
  id: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  next_attempt_at: Date;
  lease_expires_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  completed_at: Date | null;
}

export async function deliveryRow(db: Knex, id: string): Promise<DeliveryRow> {
  return (await db('webhook_deliveries').where({ id }).first()) as DeliveryRow;
}

/**
 * Takes a test's endpoints out of the shared database's queue (the tests of one file share it), so
 * whatever they left pending is never claimed by the next test's worker.
 */
export async function retireEndpoints(db: Knex, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db('webhook_endpoints')
    .whereIn('id', ids)
    .where({ status: 'enabled' })
    .update({ status: 'disabled', disabled_reason: 'by_owner', disabled_at: new Date().toISOString() });
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A webhook receiver on a loopback port of its own; `answer` decides each response (default 204) and may
 * hold it. The test closes it in `finally`.
 */
export async function startReceiver(
  answer: (res: ServerResponse, received: ReceivedWebhook, index: number) => void = (res) =>
    res.writeHead(204).end(),
) {
  const received: ReceivedWebhook[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const hit = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      received.push(hit);
      answer(res, hit, received.length - 1);
      for (const waiter of waiters.filter((w) => received.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    /** Resolves once `count` requests have arrived. */
    untilReceived: (count: number) =>
      received.length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A logger whose lines the test reads back. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A promise the test resolves when it chooses. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Another connection pool on the same database, as a second instance would have: on PostgreSQL a new knex
 * pool; on PGlite (one connection by nature) the same handle.
 */
export async function secondPool(db: Knex): Promise<{ db: Knex; close: () => Promise<void> }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return { db, close: async () => {} };
  const { rows } = await db.raw<{ rows: Array<{ name: string }> }>('SELECT current_database() AS name');
  const other = testPool(urlForDatabase(serverUrl, rows[0]!.name));
  return { db: other, close: () => other.destroy() };
}

/** Why `verify` (the SDK's verifyWebhook) refused a delivery; fails the test if it accepted it or threw anything else. */
export function refusalOf(verify: () => unknown): string {
  try {
    verify();
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.reason;
    throw error;
  }
  throw new Error('verifyWebhook accepted the delivery');
}
