import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { openDatabase } from '../../src/dependencies/database';
import { loadOpenApiDocument } from '../../src/internal/openapi-document';
import { createWebhookPayloadValidator } from '../../src/webhooks/payload-validator';
import { PASSWORD, uniqueEmail } from '../support/identity';
import { killAll, startMain, type MainProcess } from '../support/main-process';

// The real process entry and a real receiver; nothing waits on the clock, this only guards against a hang.
jest.setTimeout(180_000);

const started: ChildProcess[] = [];
afterEach(() => killAll(started));

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  respond: (status: number) => void;
}

/** A loopback receiver that hands every request to the test, which answers it when it chooses. */
async function startReceiver(): Promise<{ server: Server; url: string; next: () => Promise<Received> }> {
  const queue: Received[] = [];
  const waiting: Array<(received: Received) => void> = [];
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = {
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        respond: (status: number) => res.writeHead(status).end(),
      };
      const waiter = waiting.shift();
      if (waiter) waiter(received);
      else queue.push(received);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}/hooks`,
    next: () => {
      const ready = queue.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolveNext) => waiting.push(resolveNext));
    },
  };
}

async function call(base: URL, path: string, init: RequestInit & { token?: string; json?: unknown } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  if (init.json !== undefined) headers.set('Content-Type', headers.get('Content-Type') ?? 'application/json');
  const res = await fetch(new URL(path, base), {
    ...init,
    headers,
    ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** A user with an access token and an endpoint subscribed to item events at the receiver. */
async function subscribe(main: MainProcess, receiverUrl: string) {
  const base = await main.url();
  const email = uniqueEmail('webhooks');
  expect(
    (
      await call(base, '/v1/auth/register', {
        method: 'POST',
        json: { email, password: PASSWORD, name: 'W' },
      })
    ).status,
  ).toBe(201);
  const grant = await fetch(new URL('/v1/auth/token', base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: email, password: PASSWORD }),
  });
  const token = ((await grant.json()) as { access_token: string }).access_token;
  const endpoint = await call(base, '/v1/webhook-endpoints', {
    method: 'POST',
    token,
    json: { url: receiverUrl, event_types: ['item.created', 'item.updated', 'item.deleted'] },
  });
  expect(endpoint.status).toBe(201);
  return { base, token, endpoint: endpoint.body as { id: string; secret: string } };
}

describe('webhooks from the running process', () => {
  it('when an item is created, changed and deleted, then three signed, schema-valid deliveries arrive in order', async () => {
    const receiver = await startReceiver();
    try {
      const main = startMain({ WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' }, started);
      const { base, token, endpoint } = await subscribe(main, receiver.url);
      const created = await call(base, '/v1/items', { method: 'POST', token, json: { name: 'watched' } });
      const itemPath = `/v1/items/${String(created.body.id)}`;
      const updated = await call(base, itemPath, {
        method: 'PATCH',
        token,
        headers: { 'If-Match': created.headers.get('etag')!, 'Content-Type': 'application/merge-patch+json' },
        json: { status: 'active' },
      });
      expect(updated.status).toBe(200);
      expect(
        (
          await call(base, itemPath, {
            method: 'DELETE',
            token,
            headers: { 'If-Match': updated.headers.get('etag')! },
          })
        ).status,
      ).toBe(204);

      const verifier = new Webhook(endpoint.secret);
      const validate = createWebhookPayloadValidator(loadOpenApiDocument());
      const types: string[] = [];
      for (let n = 0; n < 3; n += 1) {
        const delivery = await receiver.next();
        delivery.respond(204);
        const payload = verifier.verify(delivery.body, delivery.headers as Record<string, string>) as {
          id: string;
          type: string;
          data: { id: string };
        };
        expect(validate(payload.type, payload)).toEqual({ valid: true });
        expect(delivery.headers['webhook-id']).toBe(`msg_${payload.id}`);
        expect(delivery.headers['content-type']).toBe('application/json');
        expect(payload.data.id).toBe(created.body.id);
        types.push(payload.type);
      }
      expect(types).toEqual(['item.created', 'item.updated', 'item.deleted']);
    } finally {
      receiver.server.close();
    }
  });

  it('when SIGTERM arrives while a delivery is in flight, then the attempt is finished and recorded before the process exits 0', async () => {
    const receiver = await startReceiver();
    const dataDir = await mkdtemp(join(tmpdir(), 'webhooks-sigterm-'));
    try {
      const main = startMain(
        {
          WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true',
          PGLITE_DATA_DIR: dataDir,
          WEBHOOK_SECRETS_KEY: Buffer.alloc(32, 3).toString('base64'),
        },
        started,
      );
      const { base, token, endpoint } = await subscribe(main, receiver.url);
      expect(
        (await call(base, `/v1/webhook-endpoints/${endpoint.id}/test-events`, { method: 'POST', token }))
          .status,
      ).toBe(202);
      const inFlight = await receiver.next();
      main.child.kill('SIGTERM');
      await main.logLine(/shutdown: draining/);
      inFlight.respond(200);
      const [code] = await main.exited;
      expect(code).toBe(0);
      const reopened = await openDatabase(
        {
          driver: 'pglite',
          dataDir,
          statementTimeoutMs: 5000,
          acquireTimeoutMs: 5000,
          migrateOnStart: false,
        },
        pino({ level: 'silent' }),
      );
      try {
        const deliveries = await reopened.db('webhook_deliveries').where({ endpoint_id: endpoint.id });
        expect(deliveries).toEqual([
          expect.objectContaining({ status: 'succeeded', attempts: 1, last_status_code: 200 }),
        ]);
      } finally {
        await reopened.close();
      }
    } finally {
      receiver.server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
