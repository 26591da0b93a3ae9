import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openDatabase } from '../../src/infrastructure/database';
import { PASSWORD, uniqueEmail } from '../support/identity';
import { killAll, startMain, type MainProcess } from '../support/main-process';
import { unpackPgliteTemplate } from '../support/template-database';
import { startReceiver } from '../support/webhook-fixtures';

// The real process entry and a real receiver; nothing waits on the clock, this only guards against a hang.
jest.setTimeout(180_000);

const started: ChildProcess[] = [];
afterEach(() => killAll(started));

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

describe('webhook delivery in the running process', () => {
  it('when SIGTERM arrives while a delivery is in flight, then the attempt is finished and recorded before the process exits 0', async () => {
    // The receiver holds its answer until the test releases it, after the signal.
    let release: ((status: number) => void) | undefined;
    const receiver = await startReceiver((res) => {
      release = (status) => res.writeHead(status).end();
    });
    const dataDir = await mkdtemp(join(tmpdir(), 'webhooks-sigterm-'));
    try {
      // Migrated already: the process skips initdb, seconds of CPU this test is not about.
      await unpackPgliteTemplate(dataDir);
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
      await receiver.untilReceived(1);
      main.child.kill('SIGTERM');
      await main.logLine(/shutdown: draining/);
      release!(200);
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
      await receiver.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
