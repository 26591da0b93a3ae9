import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import pino from 'pino';
import { openDatabase, type DatabaseHandle } from '../../src/infrastructure/database';
import { migrateToLatest, rollbackAll } from '../../src/infrastructure/migrations';
import { createTestDatabase } from '../support/test-database';

const silent = pino({ level: 'silent' });

describe('the knex database on the configured driver', () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.db.schema.createTable('probe', (table) => {
      table.increments('id');
      table.specificType('email', 'citext').unique();
      table.bigInteger('big');
      table.jsonb('meta');
      table.specificType('tags', 'text[]');
    });
  });
  afterAll(() => database.close());

  it('when rows are inserted, updated and deleted, then knex reports rows and counts like pg does', async () => {
    const { db } = database;
    const inserted = await db('probe')
      .insert([
        { email: 'A@example.com', big: 9007199254740991, meta: { a: 1 }, tags: ['x', 'y'] },
        { email: 'b@example.com', big: 1, meta: {}, tags: [] },
      ])
      .returning(['id', 'email', 'big', 'meta', 'tags']);
    expect(inserted).toEqual([
      {
        id: expect.any(Number),
        email: 'A@example.com',
        big: 9007199254740991,
        meta: { a: 1 },
        tags: ['x', 'y'],
      },
      { id: expect.any(Number), email: 'b@example.com', big: 1, meta: {}, tags: [] },
    ]);
    expect(await db('probe').where({ email: 'a@EXAMPLE.com' }).update({ big: 2 })).toBe(1);
    const [{ count }] = (await db('probe').count({ count: '*' })) as [{ count: number }];
    expect(count).toBe(2);
    expect(await db('probe').where({ email: 'b@example.com' }).del()).toBe(1);
    expect(await db('probe').where({ email: 'nobody@example.com' }).del()).toBe(0);
  });

  it('when a transaction fails midway, then none of its writes remain', async () => {
    const { db } = database;
    await expect(
      db.transaction(async (trx) => {
        await trx('probe').insert({ email: 'tx@example.com', big: 1 });
        await trx('probe').insert({ email: 'TX@example.com', big: 2 }); // citext unique violation
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await db('probe').where({ email: 'tx@example.com' })).toEqual([]);
  });

  it('when migrations are rolled back and reapplied, then both directions succeed', async () => {
    const fresh = await createTestDatabase();
    try {
      await rollbackAll(fresh.db);
      const extensions = await fresh.db('pg_extension').where({ extname: 'citext' });
      expect(extensions).toEqual([]);
      expect((await migrateToLatest(fresh.db)).length).toBeGreaterThan(0);
      expect(await migrateToLatest(fresh.db)).toEqual([]);
    } finally {
      await fresh.close();
    }
  });
});

const onPostgres = process.env.DATABASE_URL ? describe : describe.skip;

onPostgres('statements on a PostgreSQL server', () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.db.schema.createTable('prepared_probe', (table) => {
      table.increments('id');
      table.text('name');
    });
  });
  afterAll(() => database.close());

  const preparedOnThisConnection = async (trx: Knex.Transaction): Promise<string[]> =>
    (
      await trx.raw<{ rows: Array<{ statement: string }> }>('SELECT statement FROM pg_prepared_statements')
    ).rows.map((row) => row.statement);

  it('when a parameterised statement runs twice, then the server prepared it once under one name and answers both', async () => {
    await database.db.transaction(async (trx) => {
      await trx('prepared_probe').insert({ name: 'first' });
      await trx('prepared_probe').insert({ name: 'second' });
      const names = await trx('prepared_probe').select('name').where('name', 'like', 's%');
      expect(names).toEqual([{ name: 'second' }]);
      const prepared = await preparedOnThisConnection(trx);
      expect(prepared.filter((sql) => sql.startsWith('insert into "prepared_probe"'))).toHaveLength(1);
      expect(prepared.filter((sql) => sql.startsWith('select "name" from "prepared_probe"'))).toHaveLength(1);
    });
  });

  it('when a statement selects *, then it is not prepared, so a column added later cannot break it', async () => {
    await database.db.transaction(async (trx) => {
      await trx('prepared_probe').where('id', '>', 0);
      await trx.schema.alterTable('prepared_probe', (table) => table.text('added_later'));
      expect((await trx('prepared_probe').where('id', '>', 0))[0]).toHaveProperty('added_later');
      expect((await preparedOnThisConnection(trx)).filter((sql) => sql.includes('*'))).toEqual([]);
    });
  });
});

describe('PGlite persisted to a data directory', () => {
  // Three cold starts of the WebAssembly database: past the default on a machine whose cores are busy,
  // and a test overrunning its timeout keeps running into the next test file of its worker.
  it('when the database is closed and reopened repeatedly, then every write survives', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pglite-'));
    const config = {
      driver: 'pglite',
      dataDir,
      statementTimeoutMs: 5000,
      acquireTimeoutMs: 5000,
      migrateOnStart: true,
    } as const;
    try {
      for (let round = 0; round < 3; round += 1) {
        const database = await openDatabase(config, silent);
        await migrateToLatest(database.db);
        await database.db.raw('CREATE TABLE IF NOT EXISTS rounds (n integer)');
        await database.db('rounds').insert({ n: round });
        expect((await database.db('rounds').orderBy('n')).map((row: { n: number }) => row.n)).toEqual(
          Array.from({ length: round + 1 }, (_, i) => i),
        );
        await database.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
