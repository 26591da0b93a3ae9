import type { Knex } from 'knex';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import type { ResourceOwner } from '../../src/models/owner';
import type { WebhookEndpoint, WebhookEventType } from '../../src/models/webhook';
import {
  WebhookEndpointsRepository,
  type WebhookEndpointListRow,
} from '../../src/repositories/webhook-endpoints.repository';
import { insertClient, insertUser, newId, refusal, sleep, walkPages } from '../support/repository-fixtures';
import { createTestDatabase } from '../support/test-database';
import { LATEST_API_VERSION } from '../../src/versions/catalog';

type EndpointFields = Parameters<WebhookEndpointsRepository['create']>[1];

const sealed = (label: string) => Buffer.from(`sealed:${label}`);
const opened = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes).toString() : null);

const fields = (extra: Partial<EndpointFields> = {}): EndpointFields => ({
  url: 'https://hooks.example.com/in',
  description: null,
  eventTypes: ['item.created', 'item.updated'] satisfies WebhookEventType[],
  secretSealed: sealed('first'),
  apiVersion: LATEST_API_VERSION,
  ...extra,
});

/** The columns the repository never returns (owner, secrets), read straight from the table. */
interface StoredEndpoint {
  owner_user_id: string | null;
  owner_client_id: string | null;
  url: string;
  description: string | null;
  event_types: string[];
  status: string;
  disabled_reason: string | null;
  disabled_at: Date | null;
  failing_since: Date | null;
  secret_sealed: Uint8Array;
  previous_secret_sealed: Uint8Array | null;
  previous_secret_expires_at: Date | null;
  version: number;
  updated_at: Date;
}

const keyOf = (row: WebhookEndpointListRow): [string, string] => [row.cursor_sort_value, row.id];

describe('WebhookEndpointsRepository', () => {
  let database: DatabaseHandle;
  let endpoints: WebhookEndpointsRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    endpoints = new WebhookEndpointsRepository({ db: database.db });
  });
  afterAll(() => database.close());

  const create = (owner: ResourceOwner, extra: Partial<EndpointFields> = {}) =>
    database.db.transaction((trx) => endpoints.create(owner, fields(extra), trx));
  const inTransaction = <T>(work: (trx: Knex.Transaction) => Promise<T>) => database.db.transaction(work);
  const stored = async (id: string) =>
    (await database.db('webhook_endpoints').where({ id }).first()) as StoredEndpoint | undefined;
  const userOwner = async (): Promise<ResourceOwner> => ({ userId: (await insertUser(database.db)).id });

  /** A user and a client that share one id, so only the owner's kind tells them apart. */
  const twins = async () => {
    const user = await insertUser(database.db);
    await database
      .db('oauth_clients')
      .insert({ id: user.id, name: 'Twin', scopes: [], secret_hash: 'x', created_by: user.id });
    return { asUser: { userId: user.id }, asClient: { clientId: user.id } };
  };

  describe('create and constraints', () => {
    it('when a user creates an endpoint, then it reads back enabled at version 1, and only owner_user_id and the sealed secret are stored beside it', async () => {
      const owner = await insertUser(database.db);
      const endpoint = await create(
        { userId: owner.id },
        { description: 'orders', eventTypes: ['item.deleted'], secretSealed: sealed('u') },
      );

      expect(endpoint).toEqual({
        id: expect.any(String),
        url: 'https://hooks.example.com/in',
        description: 'orders',
        event_types: ['item.deleted'],
        status: 'enabled',
        disabled_reason: null,
        disabled_at: null,
        failing_since: null,
        previous_secret_expires_at: null,
        api_version: LATEST_API_VERSION,
        version: 1,
        created_at: expect.any(String),
        updated_at: endpoint.created_at,
      });
      const row = (await stored(endpoint.id))!;
      expect(row).toMatchObject({ owner_user_id: owner.id, owner_client_id: null, version: 1 });
      expect(opened(row.secret_sealed)).toBe('sealed:u');
      expect(row.previous_secret_sealed).toBeNull();
      expect(await endpoints.findOwned({ userId: owner.id }, endpoint.id)).toEqual(endpoint);
    });

    it('when a client creates an endpoint, then only owner_client_id is set and the client finds it', async () => {
      const clientId = await insertClient(database.db, (await insertUser(database.db)).id);
      const endpoint = await create({ clientId });

      expect(endpoint).toMatchObject({ status: 'enabled', version: 1 });
      expect(await stored(endpoint.id)).toMatchObject({ owner_user_id: null, owner_client_id: clientId });
      expect(await endpoints.findOwned({ clientId }, endpoint.id)).toEqual(endpoint);
    });

    it('when a row names two owners or none, then the one-owner check refuses it', async () => {
      const user = await insertUser(database.db);
      const clientId = await insertClient(database.db, user.id);
      const insert = (owners: { owner_user_id?: string; owner_client_id?: string }) =>
        database.db('webhook_endpoints').insert({
          ...owners,
          url: 'https://hooks.example.com/in',
          event_types: ['item.created'],
          secret_sealed: sealed('x'),
        });
      const check = { code: '23514', constraint: 'webhook_endpoints_one_owner_check' };

      expect(await refusal(insert({ owner_user_id: user.id, owner_client_id: clientId }))).toEqual(check);
      expect(await refusal(insert({}))).toEqual(check);
    });

    it('when the owner does not exist, then the foreign key refuses the endpoint', async () => {
      expect(await refusal(create({ userId: newId() }))).toMatchObject({ code: '23503' });
      expect(await refusal(create({ clientId: newId() }))).toMatchObject({ code: '23503' });
    });

    it('when the owning user or client is deleted, then its endpoints go too', async () => {
      const user = await insertUser(database.db);
      const clientId = await insertClient(database.db, (await insertUser(database.db)).id);
      const [byUser, byClient] = [await create({ userId: user.id }), await create({ clientId })];

      await database.db('users').where({ id: user.id }).del();
      await database.db('oauth_clients').where({ id: clientId }).del();

      expect(await stored(byUser.id)).toBeUndefined();
      expect(await stored(byClient.id)).toBeUndefined();
    });
  });

  describe('ownership', () => {
    it("when another user or a missing id is asked for, then findOwned answers undefined; the owner's endpoint is found", async () => {
      const [owner, stranger] = [await userOwner(), await userOwner()];
      const endpoint = await create(owner);

      expect(await endpoints.findOwned(owner, endpoint.id)).toEqual(endpoint);
      expect(await endpoints.findOwned(stranger, endpoint.id)).toBeUndefined();
      expect(await endpoints.findOwned(owner, newId())).toBeUndefined();
      expect(await inTransaction((trx) => endpoints.findOwnedForUpdate(stranger, endpoint.id, trx))).toBe(
        undefined,
      );
    });

    it('when a user and a client share an id, then neither finds the other one’s endpoint, with or without a lock', async () => {
      const { asUser, asClient } = await twins();
      const [usersEndpoint, clientsEndpoint] = [await create(asUser), await create(asClient)];

      expect(await endpoints.findOwned(asUser, usersEndpoint.id)).toEqual(usersEndpoint);
      expect(await endpoints.findOwned(asClient, clientsEndpoint.id)).toEqual(clientsEndpoint);
      expect(await endpoints.findOwned(asClient, usersEndpoint.id)).toBeUndefined();
      expect(await endpoints.findOwned(asUser, clientsEndpoint.id)).toBeUndefined();
      expect(
        await inTransaction(async (trx) => [
          await endpoints.findOwnedForUpdate(asClient, usersEndpoint.id, trx),
          await endpoints.findOwnedForUpdate(asUser, clientsEndpoint.id, trx),
        ]),
      ).toEqual([undefined, undefined]);
    });

    it('when findOwned is given a transaction, then it reads what that transaction wrote before it commits', async () => {
      const owner = await userOwner();
      const seen = await inTransaction(async (trx) => {
        const endpoint = await endpoints.create(owner, fields(), trx);
        return endpoints.findOwned(owner, endpoint.id, trx);
      });
      expect(seen).toMatchObject({ status: 'enabled', version: 1 });
    });
  });

  describe('locking and writes', () => {
    /**
     * Resolves once another transaction waits on a row lock `trx` holds. On PGlite there is one connection,
     * which `trx` holds, so the other transaction is already waiting for it.
     */
    const untilSomeoneWaitsOn = async (trx: Knex.Transaction) => {
      if (!process.env.DATABASE_URL) return;
      for (let tries = 0; tries < 500; tries += 1) {
        const { rows } = await trx.raw<{ rows: Array<{ waiting: number }> }>(
          'SELECT count(*)::int AS waiting FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY (pg_blocking_pids(pid))',
        );
        if (rows[0]!.waiting > 0) return;
        await sleep(10);
      }
      throw new Error('no transaction came to wait on the lock');
    };

    it('when one transaction holds an endpoint for update, then a second one’s locked read waits for its commit, sees the new version and its own update keeps the first one’s change', async () => {
      const owner = await userOwner();
      const endpoint = await create(owner);
      const first = await database.db.transaction();
      let secondSettled = false;
      try {
        expect(await endpoints.findOwnedForUpdate(owner, endpoint.id, first)).toEqual(endpoint);
        const second = inTransaction(async (trx) => {
          const seen = await endpoints.findOwnedForUpdate(owner, endpoint.id, trx);
          const written = await endpoints.update(endpoint.id, { description: 'second' }, trx);
          return { seen, written };
        }).finally(() => (secondSettled = true));

        await untilSomeoneWaitsOn(first);
        expect(secondSettled).toBe(false);
        const firstWritten = await endpoints.update(
          endpoint.id,
          { url: 'https://first.example.com/' },
          first,
        );
        await first.commit();
        const { seen, written } = await second;

        expect(firstWritten).toMatchObject({ version: 2, url: 'https://first.example.com/' });
        expect(seen).toEqual(firstWritten);
        expect(written).toMatchObject({
          version: 3,
          url: 'https://first.example.com/',
          description: 'second',
        });
      } finally {
        // A failure above must not leave the lock held: the file would hang in afterAll instead of failing.
        if (!first.isCompleted()) await first.rollback();
      }
      expect(await stored(endpoint.id)).toMatchObject({
        version: 3,
        url: 'https://first.example.com/',
        description: 'second',
      });
    });

    it('when only some fields are given, then those and the version change, and the rest stays as it was', async () => {
      const owner = await userOwner();
      const endpoint = await create(owner, { description: 'before' });

      const described = await inTransaction((trx) =>
        endpoints.update(endpoint.id, { description: 'after' }, trx),
      );
      const moved = await inTransaction((trx) =>
        endpoints.update(
          endpoint.id,
          { url: 'https://moved.example.com/', eventTypes: ['user.created'], description: null },
          trx,
        ),
      );

      expect(described).toEqual({
        ...endpoint,
        description: 'after',
        version: 2,
        updated_at: expect.any(String),
      });
      expect(Date.parse(described.updated_at)).toBeGreaterThanOrEqual(Date.parse(endpoint.updated_at));
      expect(moved).toEqual({
        ...described,
        url: 'https://moved.example.com/',
        event_types: ['user.created'],
        description: null,
        version: 3,
        updated_at: expect.any(String),
      });
      const row = (await stored(endpoint.id))!;
      expect(row).toMatchObject({ status: 'enabled', event_types: ['user.created'], version: 3 });
      expect(opened(row.secret_sealed)).toBe('sealed:first');
    });

    it('when the owner enables an endpoint the worker disabled as failing, then the reason, time and streak clear; disabling records the owner as the reason', async () => {
      const owner = await userOwner();
      const endpoint = await create(owner);
      const since = new Date('2030-01-01T00:00:00Z');
      await database
        .db('webhook_endpoints')
        .where({ id: endpoint.id })
        .update({
          status: 'disabled',
          disabled_reason: 'failing',
          disabled_at: new Date('2030-01-06T00:00:00Z'),
          failing_since: since,
        });

      const enabled = await inTransaction((trx) => endpoints.update(endpoint.id, { status: 'enabled' }, trx));
      const afterEnabling = (await stored(endpoint.id))!;
      const disabled = await inTransaction((trx) =>
        endpoints.update(endpoint.id, { status: 'disabled' }, trx),
      );
      const afterDisabling = (await stored(endpoint.id))!;

      expect(enabled).toMatchObject({
        status: 'enabled',
        disabled_reason: null,
        disabled_at: null,
        failing_since: null,
        version: 2,
      });
      expect(afterEnabling).toMatchObject({ status: 'enabled', disabled_reason: null, failing_since: null });
      expect(disabled).toMatchObject({ status: 'disabled', disabled_reason: 'by_owner', version: 3 });
      expect(disabled.disabled_at).toBe(disabled.updated_at);
      expect(afterDisabling).toMatchObject({ status: 'disabled', disabled_reason: 'by_owner' });
      expect(afterDisabling.disabled_at).toEqual(afterDisabling.updated_at);
      expect(afterDisabling.url).toBe(endpoint.url);
    });

    it('when the secret is rotated, then the new one is stored, the old one is kept as previous until the given expiry, and a second rotation keeps only the one before', async () => {
      const owner = await userOwner();
      const endpoint = await create(owner, { secretSealed: sealed('one') });
      const [expiry, laterExpiry] = [new Date('2031-01-02T03:04:05.678Z'), new Date('2031-02-01T00:00:00Z')];

      const rotated = await inTransaction((trx) =>
        endpoints.rotateSecret(endpoint.id, sealed('two'), expiry, trx),
      );
      const afterFirst = (await stored(endpoint.id))!;
      const again = await inTransaction((trx) =>
        endpoints.rotateSecret(endpoint.id, sealed('three'), laterExpiry, trx),
      );
      const afterSecond = (await stored(endpoint.id))!;

      expect(rotated).toEqual({
        ...endpoint,
        previous_secret_expires_at: expiry.toISOString(),
        version: 2,
        updated_at: expect.any(String),
      });
      expect([opened(afterFirst.secret_sealed), opened(afterFirst.previous_secret_sealed)]).toEqual([
        'sealed:two',
        'sealed:one',
      ]);
      expect(afterFirst.previous_secret_expires_at).toEqual(expiry);
      expect(again).toMatchObject({ previous_secret_expires_at: laterExpiry.toISOString(), version: 3 });
      expect([opened(afterSecond.secret_sealed), opened(afterSecond.previous_secret_sealed)]).toEqual([
        'sealed:three',
        'sealed:two',
      ]);
    });

    it("when an endpoint is deleted, then it and its deliveries are gone, while the event and another endpoint's delivery of it stay", async () => {
      const owner = await userOwner();
      const [doomed, kept] = [await create(owner), await create(owner)];
      const [event] = await database
        .db('webhook_events')
        .insert({ type: 'item.created', resource_type: 'item', resource_id: newId(), payload: {} })
        .returning<Array<{ id: string; sequence: number }>>(['id', 'sequence']);
      await database.db('webhook_deliveries').insert(
        [doomed, kept].map(({ id }) => ({
          endpoint_id: id,
          event_id: event!.id,
          event_sequence: event!.sequence,
          resource_id: newId(),
        })),
      );

      await inTransaction((trx) => endpoints.delete(doomed.id, trx));

      expect(await endpoints.findOwned(owner, doomed.id)).toBeUndefined();
      expect(await stored(doomed.id)).toBeUndefined();
      expect(await database.db('webhook_deliveries').where({ endpoint_id: doomed.id })).toEqual([]);
      expect(await database.db('webhook_deliveries').where({ endpoint_id: kept.id })).toHaveLength(1);
      expect(await database.db('webhook_events').where({ id: event!.id })).toHaveLength(1);
      expect(await endpoints.findOwned(owner, kept.id)).toEqual(kept);
    });
  });

  describe('keyset pagination (newest first)', () => {
    let owner: ResourceOwner;
    let newestFirst: string[];
    beforeAll(async () => {
      owner = await userOwner();
      const ownerId = (owner as { userId: string }).userId;
      const insertAt = async (createdAt: string) => {
        const [row] = await database
          .db('webhook_endpoints')
          .insert({
            owner_user_id: ownerId,
            url: 'https://hooks.example.com/in',
            event_types: ['item.created'],
            secret_sealed: sealed('list'),
            created_at: createdAt,
          })
          .returning<Array<{ id: string }>>('id');
        return row!.id;
      };
      const older = [await insertAt('2001-01-01 00:00:00+00'), await insertAt('2001-01-02 00:00:00+00')];
      // A microsecond apart: one JavaScript millisecond, so a cursor that lost precision would skip rows.
      const close = [
        await insertAt('2001-02-01 12:00:00.000001+00'),
        await insertAt('2001-02-01 12:00:00.000002+00'),
        await insertAt('2001-02-01 12:00:00.000003+00'),
      ];
      // Created in one transaction, so they share now() as created_at and only the id orders them.
      const tied = await inTransaction(async (trx) => {
        const created: WebhookEndpoint[] = [];
        for (let i = 0; i < 4; i += 1) created.push(await endpoints.create(owner, fields(), trx));
        return created.map((endpoint) => endpoint.id);
      });
      newestFirst = [...[...tied].sort().reverse(), ...close.reverse(), ...older.reverse()];
    });

    it.each([1, 2, 4, 8, 9])(
      'when walked %i at a time, then every endpoint of the owner comes exactly once, newest first and ties by id descending',
      async (limit) => {
        const pages = await walkPages((after) => endpoints.list(owner, limit + 1, after), limit, keyOf);

        expect(pages.flat().map((row) => row.id)).toEqual(newestFirst);
        expect(pages).toHaveLength(Math.max(1, Math.ceil(newestFirst.length / limit)));
        expect(pages.every((page) => page.length <= limit)).toBe(true);
      },
    );

    it('when the cursor is the oldest endpoint, then the next page is empty', async () => {
      const all = await endpoints.list(owner, 100, undefined);
      expect(all.map((row) => row.id)).toEqual(newestFirst);
      expect(await endpoints.list(owner, 10, keyOf(all[all.length - 1]!))).toEqual([]);
    });

    it('when a listed row is mapped, then it is the endpoint findOwned returns', async () => {
      const [row] = await endpoints.list(owner, 1, undefined);
      expect(WebhookEndpointsRepository.toEndpoint(row!)).toEqual(await endpoints.findOwned(owner, row!.id));
    });

    it('when a stranger, and a user and a client sharing an id, have endpoints, then each list holds only its own owner’s', async () => {
      const stranger = await userOwner();
      const strangers = await create(stranger);
      const { asUser, asClient } = await twins();
      const [usersEndpoint, clientsEndpoint] = [await create(asUser), await create(asClient)];

      expect((await endpoints.list(stranger, 100, undefined)).map((row) => row.id)).toEqual([strangers.id]);
      expect((await endpoints.list(asUser, 100, undefined)).map((row) => row.id)).toEqual([usersEndpoint.id]);
      expect((await endpoints.list(asClient, 100, undefined)).map((row) => row.id)).toEqual([
        clientsEndpoint.id,
      ]);
      expect((await endpoints.list(owner, 100, undefined)).map((row) => row.id)).toEqual(newestFirst);
    });
  });
});
