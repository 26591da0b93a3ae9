import { randomUUID } from 'node:crypto';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { migrateToLatest, MIGRATION_CONFIG } from '../../src/infrastructure/migrations';
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

/** What a claim would find, in a transaction that is then rolled back. */
async function claimThenRollBack(
  database: DatabaseHandle,
  idempotency: IdempotencyRepository,
  principalId: string,
  key: string,
  requestHash: string,
) {
  const trx = await database.db.transaction();
  try {
    return await idempotency.claim(principalId, key, requestHash, TTL, trx);
  } finally {
    await trx.rollback();
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

  /** A request that claims the key, stores its response and commits, as the binding layer runs one. */
  const completeWrite = (principalId: string, key: string, requestHash: string, response = RESPONSE) =>
    database.db.transaction(async (trx) => {
      expect(await idempotency.claim(principalId, key, requestHash, TTL, trx)).toEqual({ kind: 'claimed' });
      await idempotency.complete(principalId, key, response, trx);
    });

  const claimOutcome = (principalId: string, key: string, requestHash: string) =>
    claimThenRollBack(database, idempotency, principalId, key, requestHash);

  /** A claim committed apart from its write, as the previous release left one, started `secondsAgo`. */
  const insertUnfinished = (principalId: string, key: string, requestHash: string, secondsAgo = 0) =>
    database.db('idempotency_keys').insert({
      ...where(principalId, key),
      request_hash: keyRequestHash(principalId, key, requestHash),
      created_at: new Date(Date.now() - secondsAgo * 1000),
      expires_at: new Date(Date.now() + TTL * 1000),
    });

  it('when a claim and its response commit together, then the key replays the response, before and inside a later claim', async () => {
    const principal = newId();
    expect(await idempotency.findFinished(principal, 'k1', 'hash-a')).toBeUndefined();
    await completeWrite(principal, 'k1', 'hash-a');
    const replay = { kind: 'completed', response: RESPONSE };
    expect(await idempotency.findFinished(principal, 'k1', 'hash-a')).toEqual(replay);
    expect(await claimOutcome(principal, 'k1', 'hash-a')).toEqual(replay);
    expect((await record(principal, 'k1')).completed_at).toBeInstanceOf(Date);
  });

  it('when the key is used again with another request, then it is a mismatch, before and inside a claim', async () => {
    const principal = newId();
    await completeWrite(principal, 'k2', 'hash-a');
    expect(await idempotency.findFinished(principal, 'k2', 'hash-b')).toEqual({ kind: 'mismatch' });
    expect(await claimOutcome(principal, 'k2', 'hash-b')).toEqual({ kind: 'mismatch' });
  });

  it('when the transaction that claimed a key rolls back, then no record remains and the key starts afresh', async () => {
    const principal = newId();
    await expect(
      database.db.transaction(async (trx) => {
        await idempotency.claim(principal, 'k3', 'hash-a', TTL, trx);
        await idempotency.complete(principal, 'k3', RESPONSE, trx);
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    expect(await record(principal, 'k3')).toBeUndefined();
    await completeWrite(principal, 'k3', 'hash-b');
  });

  it('when the same key is used by two principals, then each has its own record', async () => {
    await completeWrite(newId(), 'shared', 'hash-a');
    await completeWrite(newId(), 'shared', 'hash-b');
  });

  it('when a second request claims a key while the first has not committed, then it waits and replays what the first committed', async () => {
    const principal = newId();
    const first = await database.db.transaction();
    try {
      expect(await idempotency.claim(principal, 'k4', 'hash-a', TTL, first)).toEqual({ kind: 'claimed' });
      // On PostgreSQL the second insert waits on the unique index; on PGlite for the one connection.
      const second = database.db.transaction((trx) => idempotency.claim(principal, 'k4', 'hash-a', TTL, trx));
      await idempotency.complete(principal, 'k4', RESPONSE, first);
      await first.commit();
      expect(await second).toEqual({ kind: 'completed', response: RESPONSE });
    } finally {
      // A failed assertion must not leave the lock (or PGlite's one connection) held for the next test.
      if (!first.isCompleted()) await first.rollback();
    }
  });

  it('when the first request rolls back while a second waits on its key, then the second claims it', async () => {
    const principal = newId();
    const first = await database.db.transaction();
    let second: Promise<unknown> | undefined;
    try {
      await idempotency.claim(principal, 'k5', 'hash-a', TTL, first);
      second = database.db.transaction(async (trx) => {
        const outcome = await idempotency.claim(principal, 'k5', 'hash-a', TTL, trx);
        await idempotency.complete(principal, 'k5', RESPONSE, trx);
        return outcome;
      });
    } finally {
      await first.rollback();
    }
    expect(await second).toEqual({ kind: 'claimed' });
    expect(await idempotency.findFinished(principal, 'k5', 'hash-a')).toMatchObject({ kind: 'completed' });
  });

  it('when a completed record has expired, then the key starts afresh, even with another request', async () => {
    const principal = newId();
    await completeWrite(principal, 'k6', 'hash-a');
    await database
      .db('idempotency_keys')
      .where(where(principal, 'k6'))
      .update({ expires_at: database.db.raw(`now() - interval '1 second'`) });
    expect(await idempotency.findFinished(principal, 'k6', 'hash-a')).toBeUndefined();
    expect(await idempotency.findFinished(principal, 'k6', 'hash-b')).toBeUndefined();
    await completeWrite(principal, 'k6', 'hash-b');
    expect((await record(principal, 'k6')).request_hash).toBe(keyRequestHash(principal, 'k6', 'hash-b'));
  });

  it('when expired records are swept, then only those go, in batches, and live and unfinished ones stay', async () => {
    const principal = newId();
    for (const key of ['old-1', 'old-2', 'old-3', 'live']) await completeWrite(principal, key, 'hash');
    await insertUnfinished(principal, 'unfinished', 'hash');
    await database
      .db('idempotency_keys')
      .where({ principal_id: principal })
      .whereIn('key_hash', ['old-1', 'old-2', 'old-3'].map(hashIdempotencyKey))
      .update({ expires_at: database.db.raw(`now() - interval '1 second'`) });

    const swept = [await idempotency.deleteExpired(2), await idempotency.deleteExpired(2)];

    expect(swept).toEqual([2, 1]);
    const left = await database.db('idempotency_keys').where({ principal_id: principal }).pluck('key_hash');
    expect(left.sort()).toEqual(['live', 'unfinished'].map(hashIdempotencyKey).sort());
  });

  it("when the previous release's unfinished claim is younger than any request can run, then it is in progress (a mismatch for another request) and not replayed early", async () => {
    const principal = newId();
    await insertUnfinished(principal, 'k7', 'hash-a', ABANDONED_AFTER / 2);
    expect(await idempotency.findFinished(principal, 'k7', 'hash-a')).toBeUndefined();
    expect(await claimOutcome(principal, 'k7', 'hash-a')).toEqual({ kind: 'in-progress' });
    expect(await claimOutcome(principal, 'k7', 'hash-b')).toEqual({ kind: 'mismatch' });
  });

  it("when the previous release's unfinished claim was abandoned (older than any request), then a claim takes it over and completes it", async () => {
    const principal = newId();
    await insertUnfinished(principal, 'k8', 'hash-a', ABANDONED_AFTER * 5);
    await completeWrite(principal, 'k8', 'hash-a');
    const taken = await record(principal, 'k8');
    expect(Date.now() - (taken.created_at as Date).getTime()).toBeLessThan(60_000);
    expect(await idempotency.findFinished(principal, 'k8', 'hash-a')).toMatchObject({ kind: 'completed' });
  });

  it('when a response is completed in a transaction that did not claim the key, then it fails and nothing changes', async () => {
    const principal = newId();
    await expect(
      database.db.transaction((trx) => idempotency.complete(principal, 'k9', RESPONSE, trx)),
    ).rejects.toThrow('not found in this transaction (0 rows)');
    await completeWrite(principal, 'k9', 'hash-a');
    await expect(
      database.db.transaction((trx) => idempotency.complete(principal, 'k9', SECRET_RESPONSE, trx)),
    ).rejects.toThrow('(0 rows)');
    expect(await idempotency.findFinished(principal, 'k9', 'hash-a')).toEqual({
      kind: 'completed',
      response: RESPONSE,
    });
  });

  it('when a response holding a secret is stored, then no column holds the raw key, the request fingerprint or the secret, and the key replays the response', async () => {
    const principal = newId();
    const key = randomUUID();
    const requestHash = `fingerprint-${randomUUID()}`;
    await completeWrite(principal, key, requestHash, SECRET_RESPONSE);

    const shown = await whatTheDatabaseShows(database.db, principal);
    expect(shown).toContain(hashIdempotencyKey(key));
    expectNoneShown(shown, [key, requestHash, SECRET, 'client_secret', 'no-store', '/v1/clients/c1']);
    expect(await idempotency.findFinished(principal, key, requestHash)).toEqual({
      kind: 'completed',
      response: SECRET_RESPONSE,
    });
  });

  it('when a sealed record is relabelled with another key of the same principal, then it does not open', async () => {
    const principal = newId();
    const [key, otherKey] = [randomUUID(), randomUUID()];
    await completeWrite(principal, key, 'hash-a', SECRET_RESPONSE);
    // A database writer relabels the sealed record with the other key's hash and fingerprint.
    await database
      .db('idempotency_keys')
      .where(where(principal, key))
      .update({
        key_hash: hashIdempotencyKey(otherKey),
        request_hash: keyRequestHash(principal, otherKey, 'hash-a'),
      });
    await expect(idempotency.findFinished(principal, otherKey, 'hash-a')).rejects.toThrow(
      'unable to authenticate data',
    );
  });

  it('when a sealed record is moved to another principal with the same key, then it does not open', async () => {
    const [principal, other] = [newId(), newId()];
    const key = randomUUID();
    await completeWrite(principal, key, 'hash-a', SECRET_RESPONSE);
    await database
      .db('idempotency_keys')
      .where(where(principal, key))
      .update({ principal_id: other, request_hash: keyRequestHash(other, key, 'hash-a') });
    await expect(idempotency.findFinished(other, key, 'hash-a')).rejects.toThrow(
      'unable to authenticate data',
    );
  });

  it('when the status stored in clear beside a sealed response is altered, then the record does not open', async () => {
    const principal = newId();
    const key = randomUUID();
    await completeWrite(principal, key, 'hash-a', SECRET_RESPONSE);
    await database.db('idempotency_keys').where(where(principal, key)).update({ response_status: 200 });
    await expect(idempotency.findFinished(principal, key, 'hash-a')).rejects.toThrow(
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
  const claimOutcome = (principalId: string, key: string, requestHash: string) =>
    claimThenRollBack(database, idempotency, principalId, key, requestHash);
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
    expect(await idempotency.findFinished(principal, completedKey, 'hash-a')).toEqual({
      kind: 'completed',
      response: SECRET_RESPONSE,
    });
    expect(await claimOutcome(principal, unfinishedKey, 'hash-b')).toEqual({ kind: 'in-progress' });
    expect(await claimOutcome(principal, unfinishedKey, 'hash-x')).toEqual({ kind: 'mismatch' });
    expect(await claimOutcome(principal, expiredKey, 'hash-c')).toEqual({ kind: 'claimed' });
    const last = crowd[crowd.length - 1]!;
    expect(await claimOutcome(last.principal_id, last.key, 'hash-d')).toEqual({ kind: 'in-progress' });
  });

  it('when the migration is rolled back, then the old shape returns without records (a hash cannot give the key back), and it applies again', async () => {
    const principal = newId();
    const key = randomUUID();
    await database.db.transaction(async (trx) => {
      await idempotency.claim(principal, key, 'hash-a', TTL, trx);
      await idempotency.complete(principal, key, RESPONSE, trx);
    });

    await rollBack();
    expect(await database.db.schema.hasColumn('idempotency_keys', 'key')).toBe(true);
    expect(await database.db.schema.hasColumn('idempotency_keys', 'key_hash')).toBe(false);
    expect(await database.db('idempotency_keys')).toEqual([]);

    expect(await migrateToLatest(database.db)).toEqual([MIGRATION]);
    expect(await idempotency.findFinished(principal, key, 'hash-a')).toBeUndefined();
    expect(await claimOutcome(principal, key, 'hash-a')).toEqual({ kind: 'claimed' });
  });
});
