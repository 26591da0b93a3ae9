import type { Knex } from 'knex';
import request from 'supertest';
import type { OperationHandler } from '../../src/dependencies/handler-map';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { runWithDeadline, runWithoutDeadline } from '../../src/infrastructure/deadline-client';
import { createUnitOfWork } from '../../src/infrastructure/unit-of-work';
import { ItemsRepository } from '../../src/repositories/items.repository';
import { DeadlineExceededError, deadlineIn, type Deadline } from '../../src/utils/deadline';
import { expectProblem } from '../support/contract';
import { createUser, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase } from '../support/test-database';
import { startReceiver } from '../support/webhook-fixtures';

const onServer = process.env.DATABASE_URL ? it : it.skip;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
// Generous for a busy machine; only ever compared with waits that would otherwise last 5 s or more.
const SLACK_MS = 10_000;

/** A deadline that has passed. */
const passed = (): Deadline => deadlineIn(0);

describe('request deadline: the database work of a request ends by its deadline', () => {
  let database: DatabaseHandle;
  let db: Knex;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.db;
    await db.schema.createTable('deadline_probe', (table) => table.text('name').primary());
  });
  afterEach(() => db('deadline_probe').del());
  afterAll(() => database.close());

  const names = async () =>
    (await db<{ name: string }>('deadline_probe').orderBy('name')).map((row) => row.name);

  it('when a statement would start after the deadline, then it is refused without reaching the database', async () => {
    await expect(
      runWithDeadline(db, passed(), async () => {
        await db('deadline_probe').insert({ name: 'late' });
      }),
    ).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(await names()).toEqual([]);
  });

  it('when the deadline passes before the commit, then the commit fails, nothing is committed, and the database serves the next request', async () => {
    const deadline = deadlineIn(2000);
    await runWithDeadline(db, deadline, async () => {
      const unit = createUnitOfWork(db);
      await unit.transaction((trx) => trx('deadline_probe').insert({ name: 'outlived' }));
      await sleep(deadline.remainingMs() + 50);
      await expect(unit.commit()).rejects.toBeInstanceOf(DeadlineExceededError);
      await unit.rollback();
    });
    expect(await names()).toEqual([]);
    // Not inside a forgotten transaction (PGlite's one connection), nor handed a closed connection.
    await db('deadline_probe').insert({ name: 'next' });
    expect(await names()).toEqual(['next']);
  });

  it('when every connection is taken, then a statement gives up waiting for one by the deadline, and the pool serves again once they are back', async () => {
    const max = (db.client as { pool: { max: number } }).pool.max;
    const held = await Promise.all(Array.from({ length: max }, () => db.transaction()));
    try {
      const started = performance.now();
      await expect(
        runWithDeadline(db, deadlineIn(500), async () => {
          await db('deadline_probe').select('name');
        }),
      ).rejects.toBeInstanceOf(DeadlineExceededError);
      const waited = performance.now() - started;
      // It waited for the deadline (500 ms), not for the pool's own bound (5 s).
      expect(waited).toBeGreaterThanOrEqual(450);
      expect(waited).toBeLessThan(500 + SLACK_MS);
    } finally {
      await Promise.all(held.map((trx) => trx.rollback()));
    }
    await db('deadline_probe').insert({ name: 'served' });
    expect(await names()).toEqual(['served']);
  });

  it("when work runs free of the deadline inside an expired one (a refusal's record), then it runs", async () => {
    await runWithDeadline(db, passed(), () =>
      runWithoutDeadline(db, async () => {
        await db('deadline_probe').insert({ name: 'recorded' });
      }),
    );
    expect(await names()).toEqual(['recorded']);
  });

  onServer(
    'when a transaction opens under a deadline, then its statement and lock timeouts end before the deadline, its idle timeout with it',
    async () => {
      const unit = createUnitOfWork(db);
      const settings = await runWithDeadline(db, deadlineIn(3000), async () => {
        const { rows } = await unit.transaction((trx) =>
          trx.raw<{ rows: Array<{ statement: string; lock: string; idle: string }> }>(
            `SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock,
                    current_setting('idle_in_transaction_session_timeout') AS idle`,
          ),
        );
        await unit.rollback();
        return rows[0]!;
      });
      const statementMs = milliseconds(settings.statement);
      const lockMs = milliseconds(settings.lock);
      expect(statementMs).toBeGreaterThan(0);
      expect(statementMs).toBeLessThan(3000);
      expect(lockMs).toBeGreaterThan(0);
      expect(lockMs).toBeLessThan(statementMs);
      const idleMs = milliseconds(settings.idle);
      expect(idleMs).toBeGreaterThan(statementMs);
      expect(idleMs).toBeLessThanOrEqual(3000);
      // Outside a request, the connection's own setting (DB_STATEMENT_TIMEOUT_MS) applies again.
      const { rows } = await db.raw<{ rows: Array<{ statement: string }> }>(
        `SELECT current_setting('statement_timeout') AS statement`,
      );
      expect(milliseconds(rows[0]!.statement)).toBe(5000);
    },
  );
});

/** PostgreSQL shows a timeout in the largest unit that divides it: '1900ms', '2s', '1min'. */
function milliseconds(setting: string): number {
  const match = /^(\d+)(ms|s|min)$/.exec(setting);
  if (!match) throw new Error(`not a timeout: ${setting}`);
  return Number(match[1]) * { ms: 1, s: 1000, min: 60_000 }[match[2] as 'ms' | 's' | 'min'];
}

describe('request deadline: through the API', () => {
  const DEADLINE_MS = 3000;
  let t: TestApp;
  let owner: TestUser;
  // createItem writes, then takes longer than the deadline before answering.
  const writeThenDawdle: OperationHandler<'createItem'> = async (req, context) => {
    const { actor } = context.writeContext();
    const item = await context.unit.transaction((trx) =>
      new ItemsRepository({ db: t.database.db }).create(
        { userId: actor.id },
        { name: req.body.name, description: null, status: 'draft', tags: [], metadata: {} },
        trx,
      ),
    );
    await sleep(DEADLINE_MS + 100);
    return { status: 201, body: item };
  };
  beforeAll(async () => {
    t = await createTestApp({
      env: { REQUEST_DEADLINE_MS: String(DEADLINE_MS) },
      handlerOverrides: { createItem: writeThenDawdle },
    });
    owner = await createUser(t);
  });
  afterAll(() => t.close());

  it('when a write outlives the deadline, then 503 with Retry-After, and its transaction was rolled back, not committed', async () => {
    const res = await request(t.app)
      .post('/v1/items')
      .set(bearer(owner.accessToken))
      .send({ name: 'dawdled' });
    expectProblem(res, 503, 'service-unavailable');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(await t.database.db('items').where({ name: 'dawdled' })).toEqual([]);
  });
});

describe('request deadline: work a request only starts', () => {
  const DEADLINE_MS = 2000;
  let t: TestApp;
  let owner: TestUser;
  beforeAll(async () => {
    t = await createTestApp({
      env: {
        REQUEST_DEADLINE_MS: String(DEADLINE_MS),
        WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true',
        WEBHOOK_POLL_INTERVAL_MS: '50',
      },
      webhookDelivery: true,
    });
    owner = await createUser(t);
  });
  afterAll(() => t.close());

  it("when a write wakes the webhook worker, then the worker's claims do not run under that request's deadline", async () => {
    const receiver = await startReceiver();
    try {
      await request(t.app)
        .post('/v1/webhook-endpoints')
        .set(bearer(owner.accessToken))
        .send({ url: receiver.url, event_types: ['item.created'] })
        .expect(201);
      await request(t.app)
        .post('/v1/items')
        .set(bearer(owner.accessToken))
        .send({ name: 'announced' })
        .expect(201);
      await receiver.untilReceived(1);
      // Many polls after the waking request's deadline: each must still claim.
      await sleep(DEADLINE_MS + 500);
      expect(t.logs.filter((line) => line.msg === 'webhook deliveries could not be claimed')).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});
