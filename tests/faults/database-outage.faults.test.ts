import knex, { type Knex } from 'knex';
import request from 'supertest';
import { expectProblem } from '../support/contract';
import { createUser, type TestUser } from '../support/identity';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * The database breaks while requests run: the API answers 503 with Retry-After by the request deadline,
 * writes nothing by halves, and recovers on its own. Needs a PostgreSQL server (DATABASE_URL): the proxy
 * sits on the network path, which embedded PGlite does not have.
 */
const onPostgres = process.env.DATABASE_URL ? describe : describe.skip;

const DEADLINE_MS = 3000;
// The pool's own bounds far beyond the deadline: only the deadline can explain an answer within it. A new
// connection keeps production's bound, so one begun in the fault does not outlive the test.
const TIMEOUTS = {
  statementTimeoutMs: 30_000,
  queryTimeoutMs: 31_000,
  acquireTimeoutMs: 30_000,
  connectTimeoutMs: 3000,
};
// The longest a request may take: the deadline, plus generous room for a busy machine.
const BOUND_MS = DEADLINE_MS + 10_000;
// Each way: a 2 s round trip, so a request of two statements (the session check, the read) cannot finish.
const SLOW_MS = 1000;

onPostgres('when the database stops answering', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  let user: TestUser;
  /** The same database, not through the proxy: the test's own view, and a second session holding locks. */
  let direct: Knex;
  let databaseName: string;
  beforeAll(async () => {
    const server = new URL(process.env.DATABASE_URL!);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    t = await createTestApp({
      env: { REQUEST_DEADLINE_MS: String(DEADLINE_MS) },
      database: { via: { port: proxy.port, ...TIMEOUTS } },
    });
    // The app's database (cloned for this file), reached directly.
    const url = new URL(
      (t.database.db.client.config.connection as { connectionString: string }).connectionString,
    );
    url.hostname = server.hostname;
    url.port = server.port;
    databaseName = url.pathname.slice(1);
    direct = knex({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 3 } });
    user = await createUser(t);
  });
  afterEach(() => proxy.heal());
  afterAll(async () => {
    await direct.destroy();
    await t.close();
    await proxy.close();
  });

  const bearer = () => ({ Authorization: `Bearer ${user.accessToken}` });
  const itemsNamed = async (name: string) =>
    Number((await direct('items').where({ name }).count({ n: '*' }))[0]!.n);

  async function timed<T>(action: () => PromiseLike<T>): Promise<{ result: T; ms: number }> {
    const started = performance.now();
    const result = await action();
    return { result, ms: performance.now() - started };
  }

  async function createItem(name: string): Promise<string> {
    const res = await request(t.app).post('/v1/items').set(bearer()).send({ name }).expect(201);
    return (res.body as { id: string }).id;
  }
  const rename = (id: string, name: string) =>
    request(t.app)
      .patch(`/v1/items/${id}`)
      .set(bearer())
      .set('If-Match', '"1"')
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ name }));

  /** Holds the item's row lock from a session of its own until `release()`. */
  async function lockRow(id: string): Promise<{ release(): Promise<void> }> {
    const trx = await direct.transaction();
    await trx('items').where({ id }).forUpdate().first();
    return { release: async () => void (await trx.rollback()) };
  }

  /** Whether a session of the test's own can lock the row within `ms`. */
  async function lockableWithin(id: string, ms: number): Promise<boolean> {
    const trx = await direct.transaction();
    try {
      await trx.raw(`SET LOCAL lock_timeout = ${ms}`);
      await trx('items').where({ id }).forUpdate().first();
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') return false;
      throw error;
    } finally {
      await trx.rollback();
    }
  }

  async function untilWaitingOnLock(): Promise<void> {
    for (;;) {
      const { rows } = await direct.raw<{ rows: unknown[] }>(
        `SELECT 1 FROM pg_stat_activity WHERE datname = ? AND wait_event_type = 'Lock'`,
        [databaseName],
      );
      if (rows.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  function expectUnavailableInBound({ result, ms }: { result: request.Response; ms: number }): void {
    expectProblem(result, 503, 'service-unavailable');
    expect(result.headers['retry-after']).toMatch(/^\d+$/);
    expect(ms).toBeLessThan(BOUND_MS);
  }

  /**
   * While `fault` lasts: a read, a write, and a write already waiting for a row lock when the fault begins
   * (the lock is released as it begins, so the database goes on with it). Each answers 503 with Retry-After
   * within the bound, neither write leaves anything behind, and once the fault ends the API serves again.
   */
  async function duringFault(label: string, fault: () => void): Promise<void> {
    const lockedId = await createItem(`locked-${label}`);
    const lock = await lockRow(lockedId);
    const inFlight = timed(() => rename(lockedId, `renamed-${label}`));
    await untilWaitingOnLock();
    fault();
    const [read, write] = await Promise.all([
      timed(() => request(t.app).get('/v1/items').set(bearer())),
      timed(() =>
        request(t.app)
          .post('/v1/items')
          .set(bearer())
          .send({ name: `written-${label}` }),
      ),
      lock.release(),
    ]);
    for (const answer of [read, write, await inFlight]) expectUnavailableInBound(answer);
    // The write in flight took the row lock once it was released, and was then abandoned: the server ended
    // that transaction by itself, with the network still broken (and, in a black hole, without hearing
    // that the client closed its connection).
    await expect(lockableWithin(lockedId, BOUND_MS)).resolves.toBe(true);

    proxy.heal();
    expect(await itemsNamed(`written-${label}`)).toBe(0);
    expect(await direct('items').where({ id: lockedId }).first()).toMatchObject({
      name: `locked-${label}`,
      version: 1,
    });
    await request(t.app).get('/health/ready').expect(200);
    await request(t.app).get('/v1/items').set(bearer()).expect(200);
    await request(t.app)
      .post('/v1/items')
      .set(bearer())
      .send({ name: `after-${label}` })
      .expect(201);
    expect(await itemsNamed(`after-${label}`)).toBe(1);
  }

  it('when packets vanish (black hole), then a read, a write and a write in flight answer 503 by the deadline, and nothing is written', async () => {
    await duringFault('black-hole', () => proxy.blackHole());
  });

  it('when every round trip takes 2 s, then a read, a write and a write in flight answer 503 by the deadline, and nothing is written', async () => {
    await duringFault('slow', () => proxy.slow(SLOW_MS));
  });

  it('when the server refuses connections (down), then a read, a write and a write in flight answer 503 at once, and nothing is written', async () => {
    await duringFault('refused', () => proxy.refuse());
  });

  it('when packets vanish, then readiness answers 503 by the deadline', async () => {
    proxy.blackHole();
    expectUnavailableInBound(await timed(() => request(t.app).get('/health/ready')));
  });

  it('when a row stays locked past the deadline, then the write gives up on the lock (lock_timeout), answers 503 and changes nothing', async () => {
    const id = await createItem('held');
    const lock = await lockRow(id);
    try {
      const answer = await timed(() => rename(id, 'held-renamed').set('X-Request-Id', 'lock-wait-1'));
      expectUnavailableInBound(answer);
      // The server gave up on the lock (SQLSTATE 55P03), before the client's own bound had to.
      const line = t.logs.find((log) => log.request_id === 'lock-wait-1');
      expect(JSON.stringify(line?.err)).toMatch(/lock timeout/);
    } finally {
      await lock.release();
    }
    expect(await direct('items').where({ id }).first()).toMatchObject({ name: 'held', version: 1 });
    await rename(id, 'renamed-after-the-lock').expect(200);
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
