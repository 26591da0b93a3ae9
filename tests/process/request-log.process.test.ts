import type { ChildProcess } from 'node:child_process';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { killAll, startMain } from '../support/main-process';
import { urlForDatabase } from '../support/template-database';
import { createTestDatabase } from '../support/test-database';

// The real process entry on a busy machine takes a while to start; nothing below waits on the clock.
jest.setTimeout(180_000);

const started: ChildProcess[] = [];
afterEach(() => killAll(started));

// The entries must outlive the process, so this needs a server: an in-memory PGlite dies with it.
const withServer = process.env.DATABASE_URL ? it : it.skip;

describe('the request log on shutdown', () => {
  let database: DatabaseHandle | undefined;
  afterAll(() => database?.close());

  withServer(
    'when SIGTERM arrives with entries still buffered, then they are written before the process exits',
    async () => {
      database = await createTestDatabase();
      const { rows } = await database.db.raw<{ rows: Array<{ name: string }> }>(
        'SELECT current_database() AS name',
      );
      const main = startMain(
        {
          DATABASE_URL: urlForDatabase(process.env.DATABASE_URL!, rows[0]!.name),
          // Far longer than the test: only the shutdown can write the buffer.
          REQUEST_LOG_FLUSH_INTERVAL_MS: '60000',
        },
        started,
      );
      const base = (await main.url()).toString().replace(/\/$/, '');
      const email = `shutdown-${Date.now()}@example.com`;
      const password = 'violet-kettle-orbit-42';
      await fetch(`${base}/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password, name: 'Shutdown' }),
      });
      const token = (await (
        await fetch(`${base}/v1/auth/token`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'password', username: email, password }),
        })
      ).json()) as { access_token: string };
      const me = await fetch(`${base}/v1/users/me`, {
        headers: { authorization: `Bearer ${token.access_token}` },
      });
      const requestId = me.headers.get('x-request-id');
      expect(me.status).toBe(200);
      expect(await database.db('request_logs').where({ request_id: requestId }).first()).toBeUndefined();

      main.child.kill('SIGTERM');
      const [code] = await main.exited;
      expect(code).toBe(0);
      expect(await database.db('request_logs').where({ request_id: requestId }).first()).toMatchObject({
        operation_id: 'getCurrentUser',
        status: 200,
      });
    },
  );
});
