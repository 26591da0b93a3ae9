import { randomBytes } from 'node:crypto';
import type { PasswordHasher } from '../dependencies/password-hasher';
import type { ItemsRepository } from '../repositories/items.repository';
import type { UsersRepository } from '../repositories/users.repository';

const BATCH_SIZE = 2000;
const STATUSES = ['draft', 'active', 'archived'] as const;

/** Loads `count` items for one user (created if missing), one millisecond apart, for benchmarks. */
export async function seedItems(
  deps: { users: UsersRepository; items: ItemsRepository; hasher: PasswordHasher },
  options: { email: string; count: number; password?: string },
): Promise<{ userId: string; email: string; generatedPassword?: string }> {
  const { users, items, hasher } = deps;
  let generatedPassword: string | undefined;
  let account = await users.findCredentialsByEmail(options.email);
  if (!account) {
    const password = options.password ?? (generatedPassword = randomBytes(12).toString('base64url'));
    const created = await users.create({
      email: options.email,
      name: 'Seed owner',
      passwordHash: await hasher.hash(password),
      role: 'user',
    });
    account = { id: created.id, role: 'user', status: 'active', password_hash: null };
  }
  const start = Date.now() - options.count;
  for (let offset = 0; offset < options.count; offset += BATCH_SIZE) {
    const size = Math.min(BATCH_SIZE, options.count - offset);
    await items.insertMany(
      Array.from({ length: size }, (_, i) => {
        const n = offset + i;
        return {
          owner_user_id: account.id,
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
  return { userId: account.id, email: options.email, ...(generatedPassword ? { generatedPassword } : {}) };
}

/**
 * Creates `count` users `seed-user-<n>@<domain>` (those missing), all with one password hashed once:
 * argon2id per user would make 10,000 users take over a minute.
 */
export async function seedUsers(
  deps: { users: UsersRepository; hasher: PasswordHasher },
  options: { count: number; password: string; domain?: string },
): Promise<{ created: number }> {
  const passwordHash = await deps.hasher.hash(options.password);
  const domain = options.domain ?? 'example.com';
  let created = 0;
  for (let offset = 0; offset < options.count; offset += BATCH_SIZE) {
    const size = Math.min(BATCH_SIZE, options.count - offset);
    created += await deps.users.insertMany(
      Array.from({ length: size }, (_, i) => ({
        email: `seed-user-${offset + i}@${domain}`,
        name: `Seed user ${offset + i}`,
        passwordHash,
        role: 'user' as const,
      })),
    );
  }
  return { created };
}
