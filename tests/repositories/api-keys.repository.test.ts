import type { Knex } from 'knex';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import type { ResourceOwner } from '../../src/models/owner';
import { ApiKeysRepository, type ApiKeyListRow } from '../../src/repositories/api-keys.repository';
import { hashOpaqueToken } from '../../src/utils/opaque-tokens';
import { insertClient, insertUser, newId, refusal, walkPages } from '../support/repository-fixtures';
import { createTestDatabase } from '../support/test-database';

type KeyFields = Parameters<ApiKeysRepository['create']>[1];

const fields = (extra: Partial<KeyFields> = {}): KeyFields => ({
  name: 'job',
  prefix: 'pak_live_abcd',
  scopes: ['items:read'],
  secretHash: hashOpaqueToken(`secret-${newId()}`),
  expiresAt: null,
  ...extra,
});

const keyOf = (row: ApiKeyListRow): [string, string] => [row.cursor_sort_value, row.id];

describe('ApiKeysRepository', () => {
  let database: DatabaseHandle;
  let apiKeys: ApiKeysRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    apiKeys = new ApiKeysRepository({ db: database.db });
  });
  afterAll(() => database.close());

  const inTransaction = <T>(work: (trx: Knex.Transaction) => Promise<T>) => database.db.transaction(work);
  const create = (owner: ResourceOwner, extra: Partial<KeyFields> = {}) =>
    inTransaction((trx) => apiKeys.create(owner, fields(extra), trx));
  const userOwner = async (): Promise<{ userId: string }> => ({ userId: (await insertUser(database.db)).id });

  it('when a key is found by its secret, then it comes with its owner as the owner is now', async () => {
    const owner = await userOwner();
    const secretHash = hashOpaqueToken('current');
    const key = await create(owner, { secretHash });
    expect(await apiKeys.findPrincipal(secretHash)).toMatchObject({
      id: key.id,
      owner_user_id: owner.userId,
      owner_client_id: null,
      role: 'user',
      status: 'active',
      expired: false,
    });
    await database.db('users').where({ id: owner.userId }).update({ status: 'disabled' });
    expect(await apiKeys.findPrincipal(secretHash)).toMatchObject({ status: 'disabled' });
    expect(await apiKeys.findPrincipal(hashOpaqueToken('unknown'))).toBeUndefined();
  });

  it("when a client's key is found, then it carries the client's current grant", async () => {
    const admin = await insertUser(database.db, { role: 'admin' });
    const clientId = await insertClient(database.db, admin.id);
    const secretHash = hashOpaqueToken(`client-${newId()}`);
    await create({ clientId }, { secretHash });
    expect(await apiKeys.findPrincipal(secretHash)).toMatchObject({
      owner_client_id: clientId,
      owner_user_id: null,
      client_scopes: ['items:read'],
    });
  });

  it('when a key is rotated, then the previous secret is found only until its overlap ends', async () => {
    const owner = await userOwner();
    const first = hashOpaqueToken(`first-${newId()}`);
    const second = hashOpaqueToken(`second-${newId()}`);
    const key = await create(owner, { secretHash: first });
    const rotated = await inTransaction((trx) =>
      apiKeys.rotate(
        key.id,
        { secretHash: second, prefix: 'pak_live_wxyz', previousExpiresAt: new Date(Date.now() + 60_000) },
        trx,
      ),
    );
    expect(rotated).toMatchObject({ version: 2, prefix: 'pak_live_wxyz' });
    expect((await apiKeys.findPrincipal(first))?.id).toBe(key.id);
    expect((await apiKeys.findPrincipal(second))?.id).toBe(key.id);
    await database
      .db('api_keys')
      .where({ id: key.id })
      .update({ previous_secret_expires_at: new Date(Date.now() - 1) });
    expect(await apiKeys.findPrincipal(first)).toBeUndefined();
    expect((await apiKeys.findPrincipal(second))?.id).toBe(key.id);
  });

  it('when a key is revoked, then the previous secret goes with it and the row stays', async () => {
    const owner = await userOwner();
    const first = hashOpaqueToken(`first-${newId()}`);
    const key = await create(owner, { secretHash: first });
    await inTransaction((trx) =>
      apiKeys.rotate(
        key.id,
        {
          secretHash: hashOpaqueToken(newId()),
          prefix: 'pak_live_wxyz',
          previousExpiresAt: new Date(Date.now() + 60_000),
        },
        trx,
      ),
    );
    const revoked = await inTransaction((trx) => apiKeys.revoke(key.id, trx));
    expect(revoked.revoked_at).not.toBeNull();
    expect(revoked.previous_secret_expires_at).toBeNull();
    expect(await apiKeys.findPrincipal(first)).toBeUndefined();
  });

  it('when last use is recorded twice within a minute, then only the first write changes it', async () => {
    const key = await create(await userOwner());
    await apiKeys.touchLastUsed(key.id);
    const first = (await database.db('api_keys').where({ id: key.id }).first()) as { last_used_at: Date };
    expect(first.last_used_at).toBeInstanceOf(Date);
    await apiKeys.touchLastUsed(key.id);
    const second = (await database.db('api_keys').where({ id: key.id }).first()) as { last_used_at: Date };
    expect(second.last_used_at).toEqual(first.last_used_at);
    await database
      .db('api_keys')
      .where({ id: key.id })
      .update({ last_used_at: new Date(Date.now() - 61_000) });
    await apiKeys.touchLastUsed(key.id);
    const third = (await database.db('api_keys').where({ id: key.id }).first()) as { last_used_at: Date };
    expect(third.last_used_at.getTime()).toBeGreaterThan(Date.now() - 10_000);
  });

  it('when a key has both owners, no owner, or a secret already stored, then the database refuses it', async () => {
    const owner = await userOwner();
    const admin = await insertUser(database.db, { role: 'admin' });
    const clientId = await insertClient(database.db, admin.id);
    const row = { name: 'x', prefix: 'pak_live_abcd', scopes: ['items:read'] };
    expect(
      await refusal(
        database
          .db('api_keys')
          .insert({ ...row, owner_user_id: owner.userId, owner_client_id: clientId, secret_hash: newId() }),
      ),
    ).toMatchObject({ code: '23514', constraint: 'api_keys_one_owner_check' });
    expect(await refusal(database.db('api_keys').insert({ ...row, secret_hash: newId() }))).toMatchObject({
      code: '23514',
    });
    const secretHash = hashOpaqueToken(newId());
    await create(owner, { secretHash });
    expect(await refusal(create(owner, { secretHash }))).toMatchObject({ code: '23505' });
  });

  it("when the owner's keys are walked page by page, then each is seen once, newest first, and nobody else's", async () => {
    const owner = await userOwner();
    const other = await userOwner();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create(owner)).id);
    await create(other);
    // Equal timestamps: the id breaks the tie.
    await database
      .db('api_keys')
      .whereIn('id', ids.slice(0, 3))
      .update({ created_at: new Date('2026-12-01T00:00:00Z') });
    const pages = await walkPages((after) => apiKeys.list(owner, 3, after), 2, keyOf);
    const seen = pages.flat().map((row) => row.id);
    const expected = (await database
      .db('api_keys')
      .where({ owner_user_id: owner.userId })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .pluck('id')) as string[];
    expect(seen).toEqual(expected);
    expect([...seen].sort()).toEqual([...ids].sort());
  });

  it("when a key is looked up for another owner, then it is absent, even for a client with the user's id", async () => {
    const owner = await userOwner();
    const key = await create(owner);
    expect(await apiKeys.findOwned(owner, key.id)).toMatchObject({ id: key.id });
    expect(await apiKeys.findOwned({ userId: newId() }, key.id)).toBeUndefined();
    expect(await apiKeys.findOwned({ clientId: owner.userId }, key.id)).toBeUndefined();
  });
});
