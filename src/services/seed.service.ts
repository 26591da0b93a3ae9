import { randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '../infrastructure/database';
import { withUnitOfWork } from '../infrastructure/unit-of-work';
import type { AuditRepository } from '../repositories/audit.repository';
import type { ItemsRepository } from '../repositories/items.repository';
import type { UsersRepository } from '../repositories/users.repository';
import type { EventOutbox } from './event-outbox';
import type { UserCreation } from './user-creation.service';

const BATCH_SIZE = 2000;
const STATUSES = ['draft', 'active', 'archived'] as const;

/** The request id of a seed run's `user.created` rows, unless the caller names its own run. */
const newRunId = () => `cli:${randomUUID()}`;

/**
 * Loads `count` items for one user (created if missing), one millisecond apart, for benchmarks: each batch
 * in one unit of work with its `item.created` audit rows and events, as an item created through the API.
 */
export async function seedItems(
  deps: {
    db: Database;
    users: UsersRepository;
    items: ItemsRepository;
    audit: AuditRepository;
    outbox: EventOutbox;
    userCreation: UserCreation;
  },
  options: { email: string; count: number; password?: string; runId?: string },
): Promise<{ userId: string; email: string; generatedPassword?: string }> {
  const { db, users, items, audit, outbox, userCreation } = deps;
  const runId = options.runId ?? newRunId();
  let generatedPassword: string | undefined;
  let userId = (await users.findCredentialsByEmail(options.email))?.id;
  if (!userId) {
    const password = await userCreation.preparePassword(
      options.password ?? (generatedPassword = randomBytes(12).toString('base64url')),
    );
    const created = await withUnitOfWork(db, (unit) =>
      userCreation.create(
        unit,
        { email: options.email, name: 'Seed owner', password, role: 'user' },
        { via: 'seed', runId },
      ),
    );
    userId = created.id;
  }
  const ownerId = userId;
  const start = Date.now() - options.count;
  for (let offset = 0; offset < options.count; offset += BATCH_SIZE) {
    const size = Math.min(BATCH_SIZE, options.count - offset);
    const rows = Array.from({ length: size }, (_, i) => {
      const n = offset + i;
      return {
        owner_user_id: ownerId,
        name: `Seed item ${String(n).padStart(7, '0')}`,
        description: null,
        status: STATUSES[n % STATUSES.length]!,
        tags: n % 10 === 0 ? ['tenth'] : [],
        metadata: {},
        created_at: new Date(start + n),
      };
    });
    await withUnitOfWork(db, async (unit) => {
      const created = await unit.transaction(async (trx) => {
        const inserted = await items.insertMany(rows, trx);
        await audit.appendMany(
          inserted.map((item) => ({
            actor_type: 'cli',
            actor_id: null,
            action: 'item.created',
            resource_type: 'item',
            resource_id: item.id,
            request_id: runId,
            details: { via: 'seed' },
          })),
          trx,
        );
        return inserted;
      });
      await outbox.recordMany(
        unit,
        created.map((item) => ({
          type: 'item.created',
          resourceType: 'item',
          resourceId: item.id,
          data: item,
        })),
        { userId: ownerId },
      );
    });
  }
  return { userId: ownerId, email: options.email, ...(generatedPassword ? { generatedPassword } : {}) };
}

/**
 * Creates `count` users `seed-user-<n>@<domain>` (those missing), all with one password checked and
 * hashed once: argon2id per user would make 10,000 users take over a minute.
 */
export async function seedUsers(
  deps: { db: Database; userCreation: UserCreation },
  options: { count: number; password: string; domain?: string; runId?: string },
): Promise<{ created: number }> {
  const { db, userCreation } = deps;
  const password = await userCreation.preparePassword(options.password);
  const domain = options.domain ?? 'example.com';
  const origin = { via: 'seed', runId: options.runId ?? newRunId() } as const;
  let created = 0;
  for (let offset = 0; offset < options.count; offset += BATCH_SIZE) {
    const size = Math.min(BATCH_SIZE, options.count - offset);
    const batch = Array.from({ length: size }, (_, i) => ({
      email: `seed-user-${offset + i}@${domain}`,
      name: `Seed user ${offset + i}`,
      password,
      role: 'user' as const,
    }));
    created += (await withUnitOfWork(db, (unit) => userCreation.createMissing(unit, batch, origin))).length;
  }
  return { created };
}
