import type { Database } from '../../src/infrastructure/database';
import { createPasswordHasher } from '../../src/infrastructure/password-hasher';
import { AuditRepository } from '../../src/repositories/audit.repository';
import { WebhookEventsRepository } from '../../src/repositories/webhook-events.repository';
import { ItemsRepository } from '../../src/repositories/items.repository';
import { UsersRepository } from '../../src/repositories/users.repository';
import { seedItems, seedUsers } from '../../src/services/seed.service';
import { createEventOutbox } from '../../src/services/event-outbox';
import { createUserCreation } from '../../src/services/user-creation.service';
import { createTestDatabase } from '../support/test-database';

function seedDependencies(db: Database) {
  const users = new UsersRepository({ db });
  const audit = new AuditRepository({ db });
  const outbox = createEventOutbox({ webhookEvents: new WebhookEventsRepository({ db }) });
  const userCreation = createUserCreation({ users, audit, outbox, hasher: createPasswordHasher() });
  return { db, users, audit, outbox, items: new ItemsRepository({ db }), userCreation };
}

describe('seeding items for benchmarks', () => {
  it('when 2,500 items are seeded twice for one email, then one owner holds 5,000 items, each run one millisecond apart', async () => {
    const database = await createTestDatabase();
    try {
      const deps = seedDependencies(database.db);
      const first = await seedItems(deps, { email: 'seed@example.com', count: 2500, runId: 'cli:seed-1' });
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
      // Each item as if created through the API: its audit row (under its run's id) and its outbox event.
      const { rows } = await database.db.raw<{ rows: Array<{ runs: string[]; evented: number }> }>(
        `SELECT
           (SELECT array_agg(request_id ORDER BY request_id) FROM audit_events
             WHERE action = 'item.created' AND actor_type = 'cli'
               AND resource_id IN (SELECT id::text FROM items WHERE owner_user_id = ?)) AS runs,
           (SELECT count(*)::int FROM webhook_events
             WHERE type = 'item.created'
               AND resource_id IN (SELECT id FROM items WHERE owner_user_id = ?)) AS evented`,
        [first.userId, first.userId],
      );
      const runs = rows[0]!.runs;
      expect(runs).toHaveLength(5000);
      expect(runs.filter((run) => run === 'cli:seed-1')).toHaveLength(2500);
      expect(rows[0]!.evented).toBe(5000);
      expect(await database.db('audit_events').where({ resource_id: first.userId })).toEqual([
        expect.objectContaining({
          action: 'user.created',
          actor_type: 'cli',
          actor_id: null,
          request_id: 'cli:seed-1',
          details: { via: 'seed' },
        }),
      ]);
    } finally {
      await database.close();
    }
  });

  it('when 2,100 users are seeded twice, then 2,100 exist once each, all signing in with the one password', async () => {
    const database = await createTestDatabase();
    try {
      const deps = seedDependencies(database.db);
      const { users } = deps;
      const hasher = createPasswordHasher();
      const password = 'violet-kettle-orbit-42';
      const domain = 'seed-users.example.com';
      expect(await seedUsers(deps, { count: 2100, password, domain, runId: 'cli:seed-2' })).toEqual({
        created: 2100,
      });
      expect(await seedUsers(deps, { count: 2100, password, domain })).toEqual({ created: 0 });
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
      const audited = await database
        .db('audit_events')
        .where({ action: 'user.created' })
        .select<Array<{ request_id: string; count: number }>>(
          'request_id',
          database.db.raw('count(*)::int as count'),
        )
        .groupBy('request_id');
      expect(audited).toEqual([{ request_id: 'cli:seed-2', count: 2100 }]);
    } finally {
      await database.close();
    }
  });

  it('when the seed password is a common one, then nothing is created', async () => {
    const database = await createTestDatabase();
    try {
      await expect(
        seedUsers(seedDependencies(database.db), { count: 3, password: 'password123' }),
      ).rejects.toThrow('The password is too common.');
      expect(await database.db('users')).toEqual([]);
    } finally {
      await database.close();
    }
  });
});
