import type { Knex } from 'knex';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { runWithDeadline, runWithoutDeadline } from '../../src/infrastructure/deadline-client';
import { createUnitOfWork } from '../../src/infrastructure/unit-of-work';
import { DeadlineExceededError, deadlineIn, type Deadline } from '../../src/utils/deadline';
import { createTestDatabase } from '../support/test-database';

const onServer = process.env.DATABASE_URL ? it : it.skip;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
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
