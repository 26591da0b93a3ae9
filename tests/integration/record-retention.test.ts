import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { hashIdempotencyKey } from '../../src/repositories/idempotency-sealing';
import { IdempotencyRepository } from '../../src/repositories/idempotency.repository';
import { createRecordRetention } from '../../src/services/record-retention';
import { createTestDatabase } from '../support/test-database';

describe('record retention', () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  const retention = (batchSize: number) =>
    createRecordRetention({
      idempotency: new IdempotencyRepository({ db: database.db, abandonedAfterSeconds: 120 }),
      logger: pino({ level: 'silent' }),
      batchSize,
    });

  /** Unfinished claims as a crashed process of the previous release left them, expiring `inSeconds`. */
  const insertRecords = (principalId: string, count: number, inSeconds: number) =>
    database.db('idempotency_keys').insert(
      Array.from({ length: count }, () => ({
        principal_id: principalId,
        key_hash: hashIdempotencyKey(randomUUID()),
        request_hash: 'hash',
        expires_at: new Date(Date.now() + inSeconds * 1000),
      })),
    );

  it('when expired records outnumber a batch, then one sweep deletes them all, batch by batch, and only them', async () => {
    const principal = randomUUID();
    await insertRecords(principal, 5, -60);
    await insertRecords(principal, 2, 3600);

    const deleted = await retention(2).sweep();

    expect(deleted).toBe(5);
    expect(await database.db('idempotency_keys').where({ principal_id: principal })).toHaveLength(2);
    expect(await database.db('idempotency_keys').where('expires_at', '<=', database.db.fn.now())).toEqual([]);
  });

  it('when a sweep is asked for while one runs, then they are one sweep', async () => {
    await insertRecords(randomUUID(), 3, -60);
    const sweeper = retention(1);

    const [first, second] = [sweeper.sweep(), sweeper.sweep()];

    expect(second).toBe(first);
    expect(await first).toBe(3);
  });

  it('when stopped while a sweep runs, then stop waits for it and no timer is left behind', async () => {
    await insertRecords(randomUUID(), 2, -60);
    const sweeper = retention(1);
    sweeper.start();
    const running = sweeper.sweep();

    await sweeper.stop();

    expect(await running).toBe(2);
  });
});
