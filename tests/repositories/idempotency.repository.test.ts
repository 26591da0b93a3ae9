import { randomUUID } from 'node:crypto';
import type { DatabaseHandle } from '../../src/dependencies/database';
import { migrateToLatest, MIGRATION_CONFIG } from '../../src/dependencies/migrations';
import { hashIdempotencyKey, keyRequestHash } from '../../src/repositories/idempotency-sealing';
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
const SECRET = `s3cr3t-${randomUUID()}`;
/** A response like a new client's: its body holds a secret. */
const SECRET_RESPONSE: StoredResponse = {
  status: 201,
  headers: { Location: '/v1/clients/c1', 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  body: JSON.stringify({ client_id: 'c1', client_secret: SECRET }),
};

/**
 * A principal's records as a database reader sees them: every row, every column as text (select * as JSON,
 * bytea as PostgreSQL prints it) and each bytea column's bytes also read as UTF-8 and base64.
 */
async function whatTheDatabaseShows(db: DatabaseHandle['db'], principalId: string): Promise<string> {
  const { rows } = await db.raw<{ rows: Array<{ json: string }> }>(
    'SELECT row_to_json(k)::text AS json FROM idempotency_keys k WHERE principal_id = ?',
    [principalId],
  );
  const records: Array<Record<string, unknown>> = await db('idempotency_keys').where({
    principal_id: principalId,
  });
  const bytes = records.flatMap((record) =>
    Object.values(record).flatMap((value) =>
      value instanceof Uint8Array
        ? [Buffer.from(value).toString('utf8'), Buffer.from(value).toString('base64')]
        : [],
    ),
  );
  return [...rows.map((row) => row.json), ...bytes].join('\n');
}

function expectNoneShown(shown: string, secrets: string[]): void {
  for (const secret of secrets) {
    expect(shown).not.toContain(secret);
    expect(shown).not.toContain(Buffer.from(secret, 'utf8').toString('hex'));
  }
}

describe('IdempotencyRepository', () => {
  let database: DatabaseHandle;
  let idempotency: IdempotencyRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    idempotency = new IdempotencyRepository({ db: database.db, abandonedAfterSeconds: ABANDONED_AFTER });
  });
  afterAll(() => database.close());

  const where = (principalId: string, key: string) => ({
    principal_id: principalId,
    key_hash: hashIdempotencyKey(key),
  });
  const record = (principalId: string, key: string) =>
    database.db('idempotency_keys').where(where(principalId, key)).first();

  /** Makes an unfinished record look as if its process died `seconds` ago. */
  const age = (principalId: string, key: string, seconds: number) =>
    database
      .db('idempotency_keys')
      .where(where(principalId, key))
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
    await database.db.transaction((trx) => idempotency.complete(principal, 'k2', RESPONSE, trx));
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
        await idempotency.complete(principal, 'k3', RESPONSE, trx);
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
    await database.db.transaction((trx) => idempotency.complete(principal, 'k4', RESPONSE, trx));
    await idempotency.release(principal, 'k4');
    expect(await idempotency.begin(principal, 'k4', 'hash-b', TTL)).toMatchObject({ kind: 'completed' });
  });

  it('when a completed record has expired, then the key starts afresh, even with another request', async () => {
    const principal = newId();
    await idempotency.begin(principal, 'k5', 'hash-a', 1);
    await database.db.transaction((trx) => idempotency.complete(principal, 'k5', RESPONSE, trx));
    await database
      .db('idempotency_keys')
      .where(where(principal, 'k5'))
      .update({ expires_at: database.db.raw(`now() - interval '1 second'`) });
    expect(await idempotency.begin(principal, 'k5', 'hash-b', TTL)).toEqual({ kind: 'started' });
    expect((await record(principal, 'k5')).request_hash).toBe(keyRequestHash(principal, 'k5', 'hash-b'));
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
    await database.db.transaction((trx) => idempotency.complete(principal, 'k7', RESPONSE, trx));
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

  it('when a response holding a secret is stored, then no column holds the raw key, the request fingerprint or the secret, and the key replays the response', async () => {
    const principal = newId();
    const key = randomUUID();
    const requestHash = `fingerprint-${randomUUID()}`;
    await idempotency.begin(principal, key, requestHash, TTL);
    await database.db.transaction((trx) => idempotency.complete(principal, key, SECRET_RESPONSE, trx));

    const shown = await whatTheDatabaseShows(database.db, principal);
    expect(shown).toContain(hashIdempotencyKey(key));
    expectNoneShown(shown, [key, requestHash, SECRET, 'client_secret', 'no-store', '/v1/clients/c1']);
    expect(await idempotency.begin(principal, key, requestHash, TTL)).toEqual({
      kind: 'completed',
      response: SECRET_RESPONSE,
    });
  });

  it('when another key of the same principal is used, then it starts its own record, and the record moved under that key does not open', async () => {
    const principal = newId();
    const [key, otherKey] = [randomUUID(), randomUUID()];
    await idempotency.begin(principal, key, 'hash-a', TTL);
    await database.db.transaction((trx) => idempotency.complete(principal, key, SECRET_RESPONSE, trx));

    expect(await idempotency.begin(principal, otherKey, 'hash-a', TTL)).toEqual({ kind: 'started' });
    // A database writer relabels the sealed record with the other key's hash and fingerprint.
    await idempotency.release(principal, otherKey);
    await database
      .db('idempotency_keys')
      .where(where(principal, key))
      .update({
        key_hash: hashIdempotencyKey(otherKey),
        request_hash: keyRequestHash(principal, otherKey, 'hash-a'),
      });
    await expect(idempotency.begin(principal, otherKey, 'hash-a', TTL)).rejects.toThrow(
      'unable to authenticate data',
    );
  });

  it('when a sealed record is moved to another principal with the same key, then it does not open', async () => {
    const [principal, other] = [newId(), newId()];
    const key = randomUUID();
    await idempotency.begin(principal, key, 'hash-a', TTL);
    await database.db.transaction((trx) => idempotency.complete(principal, key, SECRET_RESPONSE, trx));
    await database
      .db('idempotency_keys')
      .where(where(principal, key))
      .update({ principal_id: other, request_hash: keyRequestHash(other, key, 'hash-a') });
    await expect(idempotency.begin(other, key, 'hash-a', TTL)).rejects.toThrow('unable to authenticate data');
  });

  it('when the status stored in clear beside a sealed response is altered, then the record does not open', async () => {
    const principal = newId();
    const key = randomUUID();
    await idempotency.begin(principal, key, 'hash-a', TTL);
    await database.db.transaction((trx) => idempotency.complete(principal, key, SECRET_RESPONSE, trx));
    await database.db('idempotency_keys').where(where(principal, key)).update({ response_status: 200 });
    await expect(idempotency.begin(principal, key, 'hash-a', TTL)).rejects.toThrow(
      'unable to authenticate data',
    );
  });
});

describe('migration 20261130000200_idempotency_keys_sealed', () => {
  const MIGRATION = '20261130000200_idempotency_keys_sealed';
  let database: DatabaseHandle;
  let idempotency: IdempotencyRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    idempotency = new IdempotencyRepository({ db: database.db, abandonedAfterSeconds: ABANDONED_AFTER });
  });
  afterAll(() => database.close());

  const rollBack = () => database.db.migrate.down({ ...MIGRATION_CONFIG, name: MIGRATION });
  const inAnHour = () => new Date(Date.now() + 3_600_000);

  it('when records of the old shape are migrated, then completed ones replay from sealed storage, unfinished ones stay claimed, expired ones are gone, and no key or secret is left in clear', async () => {
    await rollBack();
    const principal = newId();
    const [completedKey, unfinishedKey, expiredKey] = [randomUUID(), randomUUID(), randomUUID()];
    const oldCompleted = {
      response_status: SECRET_RESPONSE.status,
      response_headers: SECRET_RESPONSE.headers,
      response_body: SECRET_RESPONSE.body,
      completed_at: new Date(),
    };
    await database.db('idempotency_keys').insert([
      {
        principal_id: principal,
        key: completedKey,
        request_hash: 'hash-a',
        ...oldCompleted,
        expires_at: inAnHour(),
      },
      { principal_id: principal, key: unfinishedKey, request_hash: 'hash-b', expires_at: inAnHour() },
      {
        principal_id: principal,
        key: expiredKey,
        request_hash: 'hash-c',
        ...oldCompleted,
        expires_at: new Date(Date.now() - 1000),
      },
    ]);
    // More unfinished records than the migration converts per batch, spread over principals.
    const crowd = Array.from({ length: 1234 }, (_, n) => ({
      principal_id: newId(),
      key: `crowd-${n}`,
      request_hash: 'hash-d',
      expires_at: inAnHour(),
    }));
    await database.db.batchInsert('idempotency_keys', crowd, 500);

    expect(await migrateToLatest(database.db)).toEqual([MIGRATION]);

    expect(await database.db.schema.hasColumn('idempotency_keys', 'key')).toBe(false);
    expect(await database.db('idempotency_keys').where({ principal_id: principal })).toHaveLength(2);
    expectNoneShown(await whatTheDatabaseShows(database.db, principal), [
      completedKey,
      unfinishedKey,
      SECRET,
      'client_secret',
    ]);
    expect(await idempotency.begin(principal, completedKey, 'hash-a', TTL)).toEqual({
      kind: 'completed',
      response: SECRET_RESPONSE,
    });
    expect(await idempotency.begin(principal, unfinishedKey, 'hash-b', TTL)).toEqual({ kind: 'in-progress' });
    expect(await idempotency.begin(principal, unfinishedKey, 'hash-x', TTL)).toEqual({ kind: 'mismatch' });
    expect(await idempotency.begin(principal, expiredKey, 'hash-c', TTL)).toEqual({ kind: 'started' });
    const last = crowd[crowd.length - 1]!;
    expect(await idempotency.begin(last.principal_id, last.key, 'hash-d', TTL)).toEqual({
      kind: 'in-progress',
    });
  });

  it('when the migration is rolled back, then the old shape returns without records (a hash cannot give the key back), and it applies again', async () => {
    const principal = newId();
    const key = randomUUID();
    await idempotency.begin(principal, key, 'hash-a', TTL);
    await database.db.transaction((trx) => idempotency.complete(principal, key, RESPONSE, trx));

    await rollBack();
    expect(await database.db.schema.hasColumn('idempotency_keys', 'key')).toBe(true);
    expect(await database.db.schema.hasColumn('idempotency_keys', 'key_hash')).toBe(false);
    expect(await database.db('idempotency_keys')).toEqual([]);

    expect(await migrateToLatest(database.db)).toEqual([MIGRATION]);
    expect(await idempotency.begin(principal, key, 'hash-a', TTL)).toEqual({ kind: 'started' });
  });
});
