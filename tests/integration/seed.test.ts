import { createPasswordHasher } from '../../src/dependencies/password-hasher';
import { ItemsRepository } from '../../src/repositories/items.repository';
import { UsersRepository } from '../../src/repositories/users.repository';
import { seedItems, seedUsers } from '../../src/services/seed.service';
import { createTestDatabase } from '../support/test-database';

describe('seeding items for benchmarks', () => {
  it('when 2,500 items are seeded twice for one email, then one owner holds 5,000 items, each run one millisecond apart', async () => {
    const database = await createTestDatabase();
    try {
      const deps = {
        users: new UsersRepository({ db: database.db }),
        items: new ItemsRepository({ db: database.db }),
        hasher: createPasswordHasher(),
      };
      const first = await seedItems(deps, { email: 'seed@example.com', count: 2500 });
      expect(first.generatedPassword).toMatch(/^[A-Za-z0-9_-]{16}$/);
      const second = await seedItems(deps, { email: 'seed@example.com', count: 2500 });
      expect(second.userId).toBe(first.userId);
      expect(second.generatedPassword).toBeUndefined();
      const [stats] = await database
        .db('items')
        .where({ owner_user_id: first.userId })
        .select<Array<{ total: number; instants: number }>>(
          database.db.raw('count(*)::int as total'),
          database.db.raw('count(distinct created_at)::int as instants'),
        );
      expect(stats!.total).toBe(5000);
      expect(stats!.instants).toBeGreaterThanOrEqual(2500);
    } finally {
      await database.close();
    }
  });

  it('when 2,100 users are seeded twice, then 2,100 exist once each, all signing in with the one password', async () => {
    const database = await createTestDatabase();
    try {
      const users = new UsersRepository({ db: database.db });
      const hasher = createPasswordHasher();
      const password = 'violet-kettle-orbit-42';
      const domain = 'seed-users.example.com';
      expect(await seedUsers({ users, hasher }, { count: 2100, password, domain })).toEqual({
        created: 2100,
      });
      expect(await seedUsers({ users, hasher }, { count: 2100, password, domain })).toEqual({ created: 0 });
      const [stats] = await database
        .db('users')
        .whereLike('email', `%@${domain}`)
        .select<Array<{ total: number; hashes: number }>>(
          database.db.raw('count(*)::int as total'),
          database.db.raw('count(distinct password_hash)::int as hashes'),
        );
      expect(stats).toEqual({ total: 2100, hashes: 1 });
      const last = await users.findCredentialsByEmail(`seed-user-2099@${domain}`);
      expect(await hasher.verify(last!.password_hash!, password)).toBe(true);
    } finally {
      await database.close();
    }
  });
});
