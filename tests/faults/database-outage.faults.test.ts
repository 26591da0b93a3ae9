import request from 'supertest';
import { expectProblem } from '../support/contract';
import { createUser, type TestUser } from '../support/identity';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * The database disappears while requests run: the API answers 503 with Retry-After within its client-side
 * timeouts, writes nothing by halves, and recovers on its own. Needs a PostgreSQL server (DATABASE_URL):
 * the proxy sits on the network path, which embedded PGlite does not have.
 */
const onPostgres = process.env.DATABASE_URL ? describe : describe.skip;

const TIMEOUTS = {
  statementTimeoutMs: 1000,
  queryTimeoutMs: 1500,
  connectTimeoutMs: 1000,
  acquireTimeoutMs: 2000,
};
// The longest a request may wait: a query timeout after a pool wait, plus generous room for a busy machine.
const BOUND_MS = TIMEOUTS.acquireTimeoutMs + TIMEOUTS.queryTimeoutMs + 10_000;

onPostgres('when the database stops answering', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    const server = new URL(process.env.DATABASE_URL!);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    t = await createTestApp({ database: { via: { port: proxy.port, ...TIMEOUTS } } });
    user = await createUser(t);
  });
  afterEach(() => proxy.heal());
  afterAll(async () => {
    await t.close();
    await proxy.close();
  });

  const bearer = () => ({ Authorization: `Bearer ${user.accessToken}` });
  const itemsNamed = (name: string) => t.database.db('items').where({ name }).count({ n: '*' });

  async function timed<T>(action: () => Promise<T>): Promise<{ result: T; ms: number }> {
    const started = performance.now();
    const result = await action();
    return { result, ms: performance.now() - started };
  }

  it('when packets vanish (black hole), then reads, writes and readiness answer 503 with Retry-After, in bound', async () => {
    proxy.blackHole();
    const [read, write, ready] = await Promise.all([
      timed(() => request(t.app).get('/v1/items').set(bearer())),
      timed(() => request(t.app).post('/v1/items').set(bearer()).send({ name: 'during-black-hole' })),
      timed(() => request(t.app).get('/health/ready')),
    ]);
    for (const { result, ms } of [read, write, ready]) {
      expectProblem(result, 503, 'service-unavailable');
      expect(result.headers['retry-after']).toMatch(/^\d+$/);
      expect(ms).toBeLessThan(BOUND_MS);
    }
    proxy.heal();
    // Nothing was written by halves, and the API serves again by itself.
    expect(Number((await itemsNamed('during-black-hole'))[0]!.n)).toBe(0);
    await request(t.app).get('/health/ready').expect(200);
    await request(t.app).post('/v1/items').set(bearer()).send({ name: 'after-black-hole' }).expect(201);
    expect(Number((await itemsNamed('after-black-hole'))[0]!.n)).toBe(1);
  });

  it('when the server refuses connections (down), then 503 at once, and 200 when it is back', async () => {
    proxy.refuse();
    const { result, ms } = await timed(() => request(t.app).get('/v1/users/me').set(bearer()));
    expectProblem(result, 503, 'service-unavailable');
    expect(ms).toBeLessThan(BOUND_MS);
    expectProblem(await request(t.app).get('/health/ready'), 503, 'service-unavailable');
    proxy.heal();
    await request(t.app).get('/v1/users/me').set(bearer()).expect(200);
    await request(t.app).get('/health/ready').expect(200);
  });

  it('when the database is down, then the log keeps the driver error and the client sees none of it', async () => {
    proxy.refuse();
    const res = await request(t.app).get('/v1/items').set(bearer()).set('X-Request-Id', 'outage-log-1');
    expect(expectProblem(res, 503, 'service-unavailable').detail).toBe(
      'The database is not answering; retry shortly.',
    );
    expect(res.text).not.toMatch(/ECONN|terminated|knex|pg/i);
    const line = t.logs.find((log) => log.request_id === 'outage-log-1');
    expect(line).toMatchObject({ res: { status: 503 } });
    expect(JSON.stringify(line?.err)).toMatch(/ECONN|terminated|Connection/i);
  });
});
