import type { DatabaseHandle } from '../../src/dependencies/database';
import { IdempotencyRepository, type StoredResponse } from '../../src/repositories/idempotency.repository';
import { newId } from '../support/repository-fixtures';
import { createTestDatabase } from '../support/test-database';

const TTL = 86_400;
/** The production default: longer than any request runs. */
const ABANDONED_AFTER = 120;
const RESPONSE: StoredResponse = {
  status: 201,
  headers: { Location: '/v1/items/1', 'Content-Type': 'application/json' },
  body: '{"id":"1"}',
};

describe('IdempotencyRepository', () => {
  let database: DatabaseHandle;
  let idempotency: IdempotencyRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    idempotency = new IdempotencyRepository({ db: database.db, abandonedAfterSeconds: ABANDONED_AFTER });
  });
  afterAll(() => database.close());

  const record = (principalId: string, key: string) =>
    database.db('idempotency_keys').where({ principal_id: principalId, key }).first();

  /** Makes an unfinished record look as if its process died `seconds` ago. */
  const age = (principalId: string, key: string, seconds: number) =>
    database
      .db('idempotency_keys')
      .where({ principal_id: principalId, key })
      .update({ created_at: database.db.raw(`now() - make_interval(secs => ?)`, [seconds]) });

  it('when a key is first used, then it starts; again with the same request while unfinished, in progress; with another request, a mismatch', async () => {
    const principal = newId();
    expect(await idempotency.begin(principal, 'k1', 'hash-a', TTL)).toEqual({ kind: 'started' });
    expect(await idempotency.begin(principal, 'k1', 'hash-a', TTL)).toEqual({ kind: 'in-progress' });
    expect(await idempotency.begin(principal, 'k1', 'hash-b', TTL)).toEqual({ kind: 'mismatch' });
  });

  it('when the same key is used by two principals, then each has its own record', async () => {
    expect(await idempotency.begin(newId(), 'shared', 'hash-a', TTL)).toEqual({ kind: 'started' });
    expect(await idempotency.begin(newId(), 'shared', 'hash-b', TTL)).toEqual({ kind: 'started' });
  });

  it('when the response is stored in a transaction that commits, then the key replays it', async () => {
    const principal = newId();
    await idempotency.begin(principal, 'k2', 'hash-a', TTL);
    await database.db.transaction((trx) => idempotency.complete(trx, principal, 'k2', RESPONSE));
    expect(await idempotency.begin(principal, 'k2', 'hash-a', TTL)).toEqual({
      kind: 'completed',
      response: RESPONSE,
    });
    expect((await record(principal, 'k2')).completed_at).toBeInstanceOf(Date);
  });

  it('when the transaction storing the response rolls back, then the record stays unfinished', async () => {
    const principal = newId();
    await idempotency.begin(principal, 'k3', 'hash-a', TTL);
    await expect(
      database.db.transaction(async (trx) => {
        await idempotency.complete(trx, principal, 'k3', RESPONSE);
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    expect(await idempotency.begin(principal, 'k3', 'hash-a', TTL)).toEqual({ kind: 'in-progress' });
  });

  it('when an unfinished key is released, then a retry starts afresh; a completed one is never released', async () => {
    const principal = newId();
    await idempotency.begin(principal, 'k4', 'hash-a', TTL);
    await idempotency.release(principal, 'k4');
    expect(await record(principal, 'k4')).toBeUndefined();
    expect(await idempotency.begin(principal, 'k4', 'hash-b', TTL)).toEqual({ kind: 'started' });
    await database.db.transaction((trx) => idempotency.complete(trx, principal, 'k4', RESPONSE));
    await idempotency.release(principal, 'k4');
    expect(await idempotency.begin(principal, 'k4', 'hash-b', TTL)).toMatchObject({ kind: 'completed' });
  });

  it('when a completed record has expired, then the key starts afresh, even with another request', async () => {
    const principal = newId();
    await idempotency.begin(principal, 'k5', 'hash-a', 1);
    await database.db.transaction((trx) => idempotency.complete(trx, principal, 'k5', RESPONSE));
    await database
      .db('idempotency_keys')
      .where({ principal_id: principal, key: 'k5' })
      .update({ expires_at: database.db.raw(`now() - interval '1 second'`) });
    expect(await idempotency.begin(principal, 'k5', 'hash-b', TTL)).toEqual({ kind: 'started' });
    expect((await record(principal, 'k5')).request_hash).toBe('hash-b');
  });

  it('when an unfinished record is younger than any request can run, then it is not taken over', async () => {
    const principal = newId();
    await idempotency.begin(principal, 'k6', 'hash-a', TTL);
    await age(principal, 'k6', ABANDONED_AFTER / 2);
    expect(await idempotency.begin(principal, 'k6', 'hash-a', TTL)).toEqual({ kind: 'in-progress' });
  });

  it('when an unfinished record was abandoned (older than any request), then a second caller takes it over, and the next one sees it in progress', async () => {
    const principal = newId();
    await idempotency.begin(principal, 'k7', 'hash-a', TTL);
    await age(principal, 'k7', ABANDONED_AFTER * 5);
    expect(await idempotency.begin(principal, 'k7', 'hash-a', TTL)).toEqual({ kind: 'started' });
    const taken = await record(principal, 'k7');
    expect(Date.now() - (taken.created_at as Date).getTime()).toBeLessThan(60_000);
    expect(await idempotency.begin(principal, 'k7', 'hash-a', TTL)).toEqual({ kind: 'in-progress' });
    // The new holder completes it as if it were its own.
    await database.db.transaction((trx) => idempotency.complete(trx, principal, 'k7', RESPONSE));
    expect(await idempotency.begin(principal, 'k7', 'hash-a', TTL)).toMatchObject({ kind: 'completed' });
  });

  it('when an abandoned record is taken over by two callers at once, then exactly one of them starts', async () => {
    const principal = newId();
    await idempotency.begin(principal, 'k8', 'hash-a', TTL);
    await age(principal, 'k8', ABANDONED_AFTER * 5);
    const outcomes = await Promise.all([
      idempotency.begin(principal, 'k8', 'hash-a', TTL),
      idempotency.begin(principal, 'k8', 'hash-a', TTL),
      idempotency.begin(principal, 'k8', 'hash-a', TTL),
    ]);
    expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['in-progress', 'in-progress', 'started']);
  });

  it('when two callers use a new key at once, then exactly one starts', async () => {
    const principal = newId();
    const outcomes = await Promise.all([
      idempotency.begin(principal, 'k9', 'hash-a', TTL),
      idempotency.begin(principal, 'k9', 'hash-a', TTL),
    ]);
    expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['in-progress', 'started']);
  });
});
