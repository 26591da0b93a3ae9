import { randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '../infrastructure/database';
import type { ItemsRepository } from '../repositories/items.repository';
import type { UsersRepository } from '../repositories/users.repository';
import type { UserCreation } from './user-creation.service';

const BATCH_SIZE = 2000;
const STATUSES = ['draft', 'active', 'archived'] as const;

/** The request id of a seed run's `user.created` rows, unless the caller names its own run. */
const newRunId = () => `cli:${randomUUID()}`;

/** Loads `count` items for one user (created if missing), one millisecond apart, for benchmarks. */
export async function seedItems(
  deps: { db: Database; users: UsersRepository; items: ItemsRepository; userCreation: UserCreation },
  options: { email: string; count: number; password?: string; runId?: string },
): Promise<{ userId: string; email: string; generatedPassword?: string }> {
  const { db, users, items, userCreation } = deps;
  let generatedPassword: string | undefined;
  let userId = (await users.findCredentialsByEmail(options.email))?.id;
  if (!userId) {
    const password = await userCreation.preparePassword(
      options.password ?? (generatedPassword = randomBytes(12).toString('base64url')),
    );
    const created = await db.transaction((trx) =>
      userCreation.create(
        trx,
        { email: options.email, name: 'Seed owner', password, role: 'user' },
        { via: 'seed', runId: options.runId ?? newRunId() },
      ),
    );
    userId = created.id;
  }
  const ownerId = userId;
  const start = Date.now() - options.count;
  for (let offset = 0; offset < options.count; offset += BATCH_SIZE) {
    const size = Math.min(BATCH_SIZE, options.count - offset);
    await items.insertMany(
      Array.from({ length: size }, (_, i) => {
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
      }),
    );
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
    created += (await db.transaction((trx) => userCreation.createMissing(trx, batch, origin))).length;
  }
  return { created };
}
