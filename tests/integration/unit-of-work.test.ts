import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import request from 'supertest';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { createUnitOfWork } from '../../src/infrastructure/unit-of-work';
import { ItemsRepository } from '../../src/repositories/items.repository';
import type { OperationHandler } from '../../src/dependencies/handler-map';
import { createUser, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase } from '../support/test-database';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('unit of work: one transaction per request, ended by its owner', () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.db.schema.createTable('uow_probe', (table) => table.text('name').primary());
  });
  afterAll(() => database.close());

  const names = async () =>
    (await database.db<{ name: string }>('uow_probe').orderBy('name')).map((row) => row.name);
  const transactionId = async (trx: Knex.Transaction): Promise<string> =>
    (await trx.raw<{ rows: Array<{ id: string }> }>('SELECT txid_current()::text AS id')).rows[0]!.id;

  it('when two pieces of work run and the owner commits, then both land, in one transaction', async () => {
    const unit = createUnitOfWork(database.db);
    const first = await unit.transaction(async (trx) => {
      await trx('uow_probe').insert({ name: 'a' });
      return transactionId(trx);
    });
    const second = await unit.transaction(async (trx) => {
      await trx('uow_probe').insert({ name: 'b' });
      return transactionId(trx);
    });
    expect(second).toBe(first);
    await unit.commit();
    expect(await names()).toEqual(['a', 'b']);
    await database.db('uow_probe').del();
  });

  it('when the owner rolls back after the work returned, then nothing lands', async () => {
    const unit = createUnitOfWork(database.db);
    await unit.transaction((trx) => trx('uow_probe').insert({ name: 'never' }));
    await unit.rollback();
    expect(await names()).toEqual([]);
  });

  it('when a piece of work throws, then the transaction rolls back at once and a later one starts afresh', async () => {
    const unit = createUnitOfWork(database.db);
    await expect(
      unit.transaction(async (trx) => {
        await trx('uow_probe').insert({ name: 'undone' });
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await unit.transaction((trx) => trx('uow_probe').insert({ name: 'after' }));
    await unit.commit();
    expect(await names()).toEqual(['after']);
    await database.db('uow_probe').del();
  });

  it('when work is set to run on opening, then it runs first, once, in the same transaction', async () => {
    const unit = createUnitOfWork(database.db);
    const seen: string[] = [];
    unit.whenOpened(async (trx) => {
      await trx('uow_probe').insert({ name: 'opened' });
      seen.push(await transactionId(trx));
    });
    const first = await unit.transaction(transactionId);
    const second = await unit.transaction(transactionId);
    expect(seen).toEqual([first]);
    expect(second).toBe(first);
    await unit.commit();
    expect(await names()).toEqual(['opened']);
    await database.db('uow_probe').del();
  });

  it('when the work run on opening throws, then the work asked for does not run, nothing lands and its error surfaces', async () => {
    const unit = createUnitOfWork(database.db);
    unit.whenOpened(async (trx) => {
      await trx('uow_probe').insert({ name: 'claimed' });
      throw new Error('answered instead');
    });
    const work = jest.fn(async (trx: Knex.Transaction) => trx('uow_probe').insert({ name: 'written' }));
    await expect(unit.transaction(work)).rejects.toThrow('answered instead');
    expect(work).not.toHaveBeenCalled();
    await unit.rollback();
    expect(await names()).toEqual([]);
  });

  it('when the COMMIT itself fails (a deferred constraint), then commit rejects with its error and nothing lands', async () => {
    await database.db.raw('CREATE TABLE uow_deferred (name text UNIQUE DEFERRABLE INITIALLY DEFERRED)');
    try {
      const unit = createUnitOfWork(database.db);
      await unit.transaction((trx) => trx('uow_deferred').insert([{ name: 'twice' }, { name: 'twice' }]));
      await expect(unit.commit()).rejects.toMatchObject({ code: '23505' });
      await unit.rollback();
      expect(await database.db('uow_deferred')).toEqual([]);
    } finally {
      await database.db.schema.dropTable('uow_deferred');
    }
  });

  it('when no work ran, then commit and rollback have nothing to do', async () => {
    const unit = createUnitOfWork(database.db);
    await unit.commit();
    await unit.rollback();
    expect(await names()).toEqual([]);
  });
});

describe('unit of work: the binding layer commits after the handler, with the idempotency record', () => {
  let t: TestApp;
  let owner: TestUser;
  // createItem answers from the handler's own write, then fails once its name says so: the failure comes
  // after the write returned, where a service-owned transaction would already have committed.
  const writeThenMaybeFail: OperationHandler<'createItem'> = async (req, context) => {
    const { actor } = context.writeContext();
    const item = await context.unit.transaction((trx) =>
      new ItemsRepository({ db: t.database.db }).create(
        { userId: actor.id },
        { name: req.body.name, description: null, status: 'draft', tags: [], metadata: {} },
        trx,
      ),
    );
    if (req.body.name === 'fail-after-write') throw new Error('the response could not be built');
    return { status: 201, body: item };
  };
  beforeAll(async () => {
    t = await createTestApp({ handlerOverrides: { createItem: writeThenMaybeFail } });
    owner = await createUser(t);
  });
  afterAll(() => t.close());

  it("when the handler fails after its write returned, then 500, and the write and the key's claim are rolled back", async () => {
    const res = await request(t.app)
      .post('/v1/items')
      .set(bearer(owner.accessToken))
      .set('Idempotency-Key', randomUUID())
      .send({ name: 'fail-after-write' });
    expect(res.status).toBe(500);
    expect(await t.database.db('items').where({ name: 'fail-after-write' })).toEqual([]);
    expect(await t.database.db('idempotency_keys').where({ principal_id: owner.id })).toEqual([]);
  });

  it('when the handler returns, then its write and the idempotency record commit together and a retry replays', async () => {
    const key = randomUUID();
    const create = () =>
      request(t.app)
        .post('/v1/items')
        .set(bearer(owner.accessToken))
        .set('Idempotency-Key', key)
        .send({ name: 'stored-with-write' });
    const first = await create().expect(201);
    const retry = await create().expect(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await t.database.db('items').where({ name: 'stored-with-write' })).toHaveLength(1);
    expect(await t.database.db('idempotency_keys').whereNotNull('completed_at')).toHaveLength(1);
  });
});
