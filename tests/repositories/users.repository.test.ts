import type { DatabaseHandle } from '../../src/infrastructure/database';
import { UsersRepository } from '../../src/repositories/users.repository';
import { translateDatabaseError } from '../../src/utils/database-errors';
import { ConflictError } from '../../src/utils/errors';
import { uniqueEmail } from '../support/identity';
import { insertClient, insertUser, newId, refusal, walkPages } from '../support/repository-fixtures';
import { createTestDatabase } from '../support/test-database';
import { LATEST_API_VERSION } from '../../src/versions/catalog';

describe('UsersRepository', () => {
  let database: DatabaseHandle;
  let users: UsersRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    users = new UsersRepository({ db: database.db });
  });
  afterAll(() => database.close());

  const account = (email: string | null) => ({
    email,
    name: 'N',
    passwordHash: null,
    role: 'user' as const,
    apiVersion: LATEST_API_VERSION,
  });

  describe('constraints', () => {
    it('when an email is taken in any letter case, then a ConflictError and no second row', async () => {
      const email = uniqueEmail('case');
      await database.db.transaction((trx) => users.create(account(email), trx));
      const duplicate = database.db.transaction((trx) => users.create(account(email.toUpperCase()), trx));
      await expect(duplicate).rejects.toBeInstanceOf(ConflictError);
      await expect(duplicate).rejects.toMatchObject({
        cause: { code: '23505', constraint: 'users_email_unique' },
      });
      expect(await database.db('users').whereRaw('email = ?::citext', [email])).toHaveLength(1);
    });

    it('when accounts have no email (external identity provider), then any number of them may exist', async () => {
      await database.db.transaction((trx) => users.create(account(null), trx));
      await database.db.transaction((trx) => users.create(account(null), trx));
      expect(
        Number((await database.db('users').whereNull('email').count('* as n'))[0]!.n),
      ).toBeGreaterThanOrEqual(2);
    });

    it('when a role or status outside the spec reaches the table, then its check refuses it, as a bug (500), not a client error', async () => {
      const user = await insertUser(database.db);
      const role = await refusal(database.db('users').where({ id: user.id }).update({ role: 'root' }));
      expect(role).toEqual({ code: '23514', constraint: 'users_role_check' });
      const status = await refusal(database.db('users').where({ id: user.id }).update({ status: 'banned' }));
      expect(status).toEqual({ code: '23514', constraint: 'users_status_check' });
      expect(translateDatabaseError(role)).toBeUndefined();
    });

    it('when a user is deleted, then their sessions, identities and items go, and clients they created stay without a creator', async () => {
      const user = await insertUser(database.db, { role: 'admin' });
      const clientId = await insertClient(database.db, user.id);
      await database.db('auth_sessions').insert({ user_id: user.id, scope: 'profile' });
      await database
        .db('external_identities')
        .insert({ issuer: 'https://idp', subject: newId(), user_id: user.id });
      await database.db('items').insert({ owner_user_id: user.id, name: 'owned' });
      expect(await database.db.transaction((trx) => users.delete(user.id, trx))).toBe(true);
      expect(await database.db.transaction((trx) => users.delete(user.id, trx))).toBe(false);
      expect(await database.db('auth_sessions').where({ user_id: user.id })).toEqual([]);
      expect(await database.db('external_identities').where({ user_id: user.id })).toEqual([]);
      expect(await database.db('items').where({ owner_user_id: user.id })).toEqual([]);
      expect((await database.db('oauth_clients').where({ id: clientId }).first()).created_by).toBeNull();
    });
  });

  describe('reads and writes', () => {
    it('when credentials are looked up by email, then the case does not matter', async () => {
      const email = uniqueEmail('lookup');
      const user = await database.db.transaction((trx) =>
        users.create({ ...account(email), passwordHash: 'hash' }, trx),
      );
      expect(await users.findCredentialsByEmail(email.toUpperCase())).toEqual({
        id: user.id,
        role: 'user',
        status: 'active',
        password_hash: 'hash',
        api_version: LATEST_API_VERSION,
      });
      expect(await users.findCredentialsByEmail(uniqueEmail('nobody'))).toBeUndefined();
    });

    it('when a user is updated, then updated_at moves and the password hash changes only when given', async () => {
      const user = await database.db.transaction((trx) =>
        users.create({ ...account(uniqueEmail()), passwordHash: 'old' }, trx),
      );
      const renamed = await database.db.transaction((trx) => users.update(user.id, { name: 'Renamed' }, trx));
      expect(renamed).toMatchObject({ name: 'Renamed' });
      expect(Date.parse(renamed!.updated_at)).toBeGreaterThanOrEqual(Date.parse(user.updated_at));
      expect((await users.findCredentialsById(user.id))!.password_hash).toBe('old');
      await database.db.transaction((trx) => users.update(user.id, { passwordHash: 'new' }, trx));
      expect((await users.findCredentialsById(user.id))!.password_hash).toBe('new');
      expect(
        await database.db.transaction((trx) => users.update(newId(), { name: 'Nobody' }, trx)),
      ).toBeUndefined();
    });

    it('when a user is changed in any way, the password included, then the version goes up by one each time', async () => {
      const user = await database.db.transaction((trx) => users.create(account(uniqueEmail()), trx));
      expect(user.version).toBe(1);
      expect(
        await database.db.transaction((trx) => users.update(user.id, { name: 'Renamed' }, trx)),
      ).toMatchObject({ version: 2 });
      expect(
        await database.db.transaction((trx) => users.update(user.id, { passwordHash: 'new' }, trx)),
      ).toMatchObject({ version: 3 });
      expect(
        await database.db.transaction((trx) => users.update(user.id, { status: 'disabled' }, trx)),
      ).toMatchObject({ version: 4 });
      expect(await users.findById(user.id)).toMatchObject({ version: 4 });
    });

    it('when a row is locked for update, then a second locker gets it only after the first commits, with the new version', async () => {
      const user = await database.db.transaction((trx) => users.create(account(uniqueEmail()), trx));
      let locked!: () => void;
      const firstLocked = new Promise<void>((resolve) => (locked = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const first = database.db.transaction(async (trx) => {
        await users.findByIdForUpdate(user.id, trx);
        locked();
        await released;
        return users.update(user.id, { name: 'First' }, trx);
      });
      await firstLocked;
      const second = database.db.transaction((trx) => users.findByIdForUpdate(user.id, trx));
      release();
      const [updated, seen] = await Promise.all([first, second]);
      expect(updated).toMatchObject({ name: 'First', version: 2 });
      expect(seen).toMatchObject({ name: 'First', version: 2 });
    });

    it('when many users are inserted at once, then existing emails are skipped and only the new rows come back', async () => {
      const existing = uniqueEmail('bulk');
      await database.db.transaction((trx) => users.create(account(existing), trx));
      const fresh = [uniqueEmail('bulk'), uniqueEmail('bulk')];
      const inserted = await database.db.transaction((trx) =>
        users.insertMany([existing, ...fresh].map(account), trx),
      );
      expect(inserted.map((user) => user.email).sort()).toEqual([...fresh].sort());
      expect(await database.db.transaction((trx) => users.insertMany([], trx))).toEqual([]);
    });
  });

  describe('keyset pagination (newest first)', () => {
    const domain = `page-${newId()}.example.com`;
    const instant = '2026-01-01T00:00:00.000Z';
    let ids: string[];
    beforeAll(async () => {
      // Seven users created at the very same instant: only the id tells them apart.
      const rows = await database
        .db('users')
        .insert(
          Array.from({ length: 7 }, (_, i) => ({
            email: `u${i}@${domain}`,
            name: `U${i}`,
            created_at: instant,
          })),
        )
        .returning<Array<{ id: string }>>('id');
      ids = rows.map((row) => row.id).sort();
    });

    const keyOf = (row: { cursor_sort_value: string; id: string }): [string, string] => [
      row.cursor_sort_value,
      row.id,
    ];

    it('when rows share a timestamp, then pages follow the id, highest first, and every row comes exactly once', async () => {
      const pages = await walkPages((after) => users.list({}, 3 + 1, after), 3, keyOf);
      const ours = pages.flat().filter((row) => row.email?.endsWith(domain));
      expect(ours.map((row) => row.id)).toEqual([...ids].reverse());
      expect(new Set(pages.flat().map((row) => row.id)).size).toBe(pages.flat().length);
    });

    it('when a row of the next page is deleted between pages, then the walk neither skips nor repeats the others', async () => {
      const victim = ids[4]!;
      const pages = await walkPages(
        (after) => users.list({}, 2 + 1, after),
        2,
        keyOf,
        async (index) => {
          if (index === 0) await database.db('users').where({ id: victim }).del();
        },
      );
      const ours = pages.flat().filter((row) => row.email?.endsWith(domain));
      expect(ours.map((row) => row.id)).toEqual(ids.filter((id) => id !== victim).reverse());
      ids = ids.filter((id) => id !== victim);
    });

    it('when the cursor is the last row, then the next page is empty', async () => {
      const all = await users.list({}, 1000, undefined);
      const last = all[all.length - 1]!;
      expect(await users.list({}, 10, keyOf(last))).toEqual([]);
    });

    it('when filtered by role, status and email, then only matching rows', async () => {
      const admin = await insertUser(database.db, { role: 'admin' });
      await database.db('users').where({ id: admin.id }).update({ status: 'disabled' });
      const found = await users.list(
        { role: 'admin', status: 'disabled', email: admin.email! },
        10,
        undefined,
      );
      expect(found.map((row) => row.id)).toEqual([admin.id]);
    });
  });
});
