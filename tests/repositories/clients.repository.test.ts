import type { DatabaseHandle } from '../../src/infrastructure/database';
import { ClientsRepository } from '../../src/repositories/clients.repository';
import { insertUser, newId, refusal, walkPages } from '../support/repository-fixtures';
import { createTestDatabase } from '../support/test-database';
import { LATEST_API_VERSION } from '../../src/versions/catalog';

describe('ClientsRepository', () => {
  let database: DatabaseHandle;
  let clients: ClientsRepository;
  let adminId: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    clients = new ClientsRepository({ db: database.db });
    adminId = (await insertUser(database.db, { role: 'admin' })).id;
  });
  afterAll(() => database.close());

  const create = (name = 'Partner') =>
    database.db.transaction((trx) =>
      clients.create(
        {
          name,
          scopes: ['items:read'],
          credentials: { method: 'client_secret_basic', secretHash: `hash-${name}` },
          createdBy: adminId,
          apiVersion: LATEST_API_VERSION,
        },
        trx,
      ),
    );

  it('when a client is created, then it reads back without its secret hash, which only findAuthentication returns', async () => {
    const client = await create('Acme');
    expect(client).toEqual({
      client_id: expect.any(String),
      name: 'Acme',
      scopes: ['items:read'],
      token_endpoint_auth_method: 'client_secret_basic',
      api_version: LATEST_API_VERSION,
      version: 1,
      created_at: expect.any(String),
    });
    expect(await clients.findById(client.client_id)).toEqual(client);
    expect(await clients.findAuthentication(client.client_id)).toEqual({
      token_endpoint_auth_method: 'client_secret_basic',
      secret_hash: 'hash-Acme',
      jwks: null,
      jwks_uri: null,
      scopes: ['items:read'],
    });
  });

  it('when the creator does not exist, then the foreign key refuses the client', async () => {
    expect(
      await refusal(
        database.db.transaction((trx) =>
          clients.create(
            {
              name: 'X',
              scopes: [],
              credentials: { method: 'client_secret_basic', secretHash: 'h' },
              apiVersion: LATEST_API_VERSION,
              createdBy: newId(),
            },
            trx,
          ),
        ),
      ),
    ).toMatchObject({ code: '23503' });
  });

  it('when the secret is rotated, then the hash changes and the version goes up by one; a missing client answers undefined', async () => {
    const client = await create('Rotating');
    expect(
      await database.db.transaction((trx) => clients.updateSecretHash(client.client_id, 'new-hash', trx)),
    ).toEqual({ ...client, version: 2 });
    expect((await clients.findAuthentication(client.client_id))!.secret_hash).toBe('new-hash');
    expect(
      await database.db.transaction((trx) => clients.updateSecretHash(newId(), 'x', trx)),
    ).toBeUndefined();
  });

  it('when a row is locked for update, then a second locker gets it only after the first commits, with the new version', async () => {
    const client = await create('Contended');
    let locked!: () => void;
    const firstLocked = new Promise<void>((resolve) => (locked = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const first = database.db.transaction(async (trx) => {
      await clients.findByIdForUpdate(client.client_id, trx);
      locked();
      await released;
      return clients.updateSecretHash(client.client_id, 'first', trx);
    });
    await firstLocked;
    const second = database.db.transaction((trx) => clients.findByIdForUpdate(client.client_id, trx));
    release();
    const [updated, seen] = await Promise.all([first, second]);
    expect(updated).toMatchObject({ version: 2 });
    expect(seen).toMatchObject({ version: 2 });
  });

  it('when a client is deleted, then its sessions and items go too, and a second delete reports nothing deleted', async () => {
    const client = await create('Leaving');
    await database.db('auth_sessions').insert({ client_id: client.client_id, scope: 'items:read' });
    await database.db('items').insert({ owner_client_id: client.client_id, name: 'machine item' });
    expect(await database.db.transaction((trx) => clients.delete(client.client_id, trx))).toBe(true);
    expect(await database.db.transaction((trx) => clients.delete(client.client_id, trx))).toBe(false);
    expect(await database.db('auth_sessions').where({ client_id: client.client_id })).toEqual([]);
    expect(await database.db('items').where({ owner_client_id: client.client_id })).toEqual([]);
  });

  describe('keyset pagination (newest first)', () => {
    let ids: string[];
    beforeAll(async () => {
      const rows = await database
        .db('oauth_clients')
        .insert(
          Array.from({ length: 5 }, (_, i) => ({
            name: `tied-${i}`,
            secret_hash: 'h',
            scopes: [],
            created_at: '2026-02-02T00:00:00.000Z',
          })),
        )
        .returning<Array<{ id: string }>>('id');
      ids = rows.map((row) => row.id).sort();
    });
    const keyOf = (row: { cursor_sort_value: string; id: string }): [string, string] => [
      row.cursor_sort_value,
      row.id,
    ];

    it('when clients share a timestamp and one is deleted between pages, then the others come once, highest id first', async () => {
      // Newest first, ties by id descending: ids[1] is the fourth tied row, never on the first page of two.
      const victim = ids[1]!;
      const pages = await walkPages(
        (after) => clients.list(2 + 1, after),
        2,
        keyOf,
        async (index) => {
          if (index === 0) await database.db('oauth_clients').where({ id: victim }).del();
        },
      );
      const walked = pages.flat().map((row) => row.id);
      const expected = ids.filter((id) => id !== victim).reverse();
      // The tied rows are the oldest, so they come last.
      expect(walked.slice(-expected.length)).toEqual(expected);
      expect(new Set(walked).size).toBe(walked.length);
    });

    it('when the cursor is the oldest client (the last row), then the next page is empty', async () => {
      const all = await clients.list(1000, undefined);
      expect(await clients.list(10, keyOf(all[all.length - 1]!))).toEqual([]);
    });
  });

  describe('private_key_jwt clients and their assertion jtis', () => {
    const jwks = { keys: [{ kty: 'EC' as const, crv: 'P-256' as const, x: 'x', y: 'y' }] };
    const createSigner = () =>
      database.db.transaction((trx) =>
        clients.create(
          {
            name: 'Signer',
            scopes: ['items:read'],
            credentials: { method: 'private_key_jwt', jwks },
            createdBy: adminId,
            apiVersion: LATEST_API_VERSION,
          },
          trx,
        ),
      );
    const consume = (clientId: string, jti: string, expiresAt = new Date(Date.now() + 60_000)) =>
      database.db.transaction((trx) => clients.consumeAssertionJti(clientId, jti, expiresAt, trx));

    it('when a private_key_jwt client is created, then it has its keys and no secret', async () => {
      const client = await createSigner();
      expect(client).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks });
      expect(await clients.findAuthentication(client.client_id)).toMatchObject({
        secret_hash: null,
        jwks,
        jwks_uri: null,
      });
    });

    it.each([
      [
        'a secret client with keys',
        { token_endpoint_auth_method: 'client_secret_basic', secret_hash: 'h', jwks: JSON.stringify(jwks) },
      ],
      [
        'a secret client without a secret',
        { token_endpoint_auth_method: 'client_secret_post', secret_hash: null },
      ],
      [
        'a private_key_jwt client with a secret',
        { token_endpoint_auth_method: 'private_key_jwt', secret_hash: 'h', jwks_uri: 'https://a.example/j' },
      ],
      [
        'a private_key_jwt client without keys',
        { token_endpoint_auth_method: 'private_key_jwt', secret_hash: null },
      ],
      [
        'a private_key_jwt client with both key sources',
        {
          token_endpoint_auth_method: 'private_key_jwt',
          secret_hash: null,
          jwks: JSON.stringify(jwks),
          jwks_uri: 'https://a.example/j',
        },
      ],
      ['an unknown method', { token_endpoint_auth_method: 'none', secret_hash: 'h' }],
    ])('when a row would be %s, then the check constraint refuses it', async (_case, row) => {
      expect(
        await refusal(database.db('oauth_clients').insert({ name: 'Bad', scopes: ['items:read'], ...row })),
      ).toMatchObject({ code: '23514', constraint: 'oauth_clients_auth_method_check' });
    });

    it('when a jti is consumed twice, then only the first succeeds; another client may use the same jti', async () => {
      const [a, b] = [await createSigner(), await createSigner()];
      expect(await consume(a.client_id, 'j-1')).toBe(true);
      expect(await consume(a.client_id, 'j-1')).toBe(false);
      expect(await consume(b.client_id, 'j-1')).toBe(true);
    });

    it('when two transactions consume the same jti at once, then exactly one succeeds', async () => {
      const client = await createSigner();
      const results = await Promise.all([
        consume(client.client_id, 'race'),
        consume(client.client_id, 'race'),
      ]);
      expect(results.sort()).toEqual([false, true]);
    });

    it("when a recorded jti has expired, then it may be used again, and the client's expired rows are swept", async () => {
      const client = await createSigner();
      await database.db('oauth_client_assertion_jtis').insert([
        { client_id: client.client_id, jti: 'old', expires_at: new Date(Date.now() - 1000) },
        { client_id: client.client_id, jti: 'stale', expires_at: new Date(Date.now() - 1000) },
      ]);
      expect(await consume(client.client_id, 'old')).toBe(true);
      const rows = await database.db('oauth_client_assertion_jtis').where({ client_id: client.client_id });
      expect(rows.map((row: { jti: string }) => row.jti)).toEqual(['old']);
    });

    it('when the client is deleted, then its jtis go too', async () => {
      const client = await createSigner();
      await consume(client.client_id, 'gone');
      await database.db.transaction((trx) => clients.delete(client.client_id, trx));
      expect(await database.db('oauth_client_assertion_jtis').where({ client_id: client.client_id })).toEqual(
        [],
      );
    });
  });
});
