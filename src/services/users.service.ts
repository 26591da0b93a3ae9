import type { Database } from '../dependencies/database';
import type { PasswordHasher } from '../dependencies/password-hasher';
import type { Principal } from '../models/principal';
import type { UserRole } from '../models/scopes';
import type { User, UserStatus } from '../models/user';
import type { SessionsRepository } from '../repositories/sessions.repository';
import { UsersRepository, type UserListFilters } from '../repositories/users.repository';
import { ConflictError, NotFoundError, ValidationError } from '../utils/errors';
import { decodeCursor, toPage, type Page } from '../utils/cursor';

export interface UsersService {
  getCurrent(principal: Principal): Promise<User>;
  updateCurrent(principal: Principal, changes: { name: string }): Promise<User>;
  changePassword(
    principal: Principal,
    input: { current_password: string; new_password: string },
  ): Promise<void>;
  list(filters: UserListFilters, limit: number, cursor: string | undefined): Promise<Page<User>>;
  get(id: string): Promise<User>;
  update(actor: Principal, id: string, changes: { role?: UserRole; status?: UserStatus }): Promise<User>;
  delete(actor: Principal, id: string): Promise<void>;
}

export function createUsersService(deps: {
  db: Database;
  users: UsersRepository;
  sessions: SessionsRepository;
  hasher: PasswordHasher;
}): UsersService {
  const { db, users, sessions, hasher } = deps;

  const userIdOf = (principal: Principal): string => {
    // Clients never hold the `profile` scope these operations require; this guards the invariant.
    if (principal.kind !== 'user') throw new NotFoundError('Partner clients have no user account.');
    return principal.id;
  };

  const refuseSelf = (actor: Principal, id: string, action: string) => {
    if (actor.kind === 'user' && actor.id === id) {
      throw new ConflictError(`Administrators cannot ${action} their own account.`);
    }
  };

  return {
    async getCurrent(principal) {
      const user = await users.findById(userIdOf(principal));
      if (!user) throw new NotFoundError('The user no longer exists.');
      return user;
    },

    async updateCurrent(principal, changes) {
      const user = await users.update(userIdOf(principal), { name: changes.name });
      if (!user) throw new NotFoundError('The user no longer exists.');
      return user;
    },

    async changePassword(principal, input) {
      const userId = userIdOf(principal);
      const account = await users.findCredentialsById(userId);
      if (!account?.password_hash || !(await hasher.verify(account.password_hash, input.current_password))) {
        throw new ValidationError('The current password is incorrect.', [
          { location: 'body', pointer: '/current_password', detail: 'is incorrect' },
        ]);
      }
      if (hasher.isCommon(input.new_password)) {
        throw new ValidationError('The new password is too common.', [
          { location: 'body', pointer: '/new_password', detail: 'is one of the most common passwords' },
        ]);
      }
      const passwordHash = await hasher.hash(input.new_password);
      await db.transaction(async (trx) => {
        await users.update(userId, { passwordHash }, trx);
        await sessions.revokeAllOfUser(userId, principal.sessionId, trx);
      });
    },

    async list(filters, limit, cursor) {
      const after = cursor ? (decodeCursor(cursor, 2) as [string, string]) : undefined;
      const rows = await users.list(filters, limit + 1, after);
      return toPage(rows, limit, UsersRepository.toUser, (row) => [row.cursor_created_at, row.id]);
    },

    async get(id) {
      const user = await users.findById(id);
      if (!user) throw new NotFoundError('No user with this id.');
      return user;
    },

    async update(actor, id, changes) {
      refuseSelf(actor, id, 'change the role or status of');
      return db.transaction(async (trx) => {
        const user = await users.update(id, changes, trx);
        if (!user) throw new NotFoundError('No user with this id.');
        if (changes.status === 'disabled') await sessions.revokeAllOfUser(id, undefined, trx);
        return user;
      });
    },

    async delete(actor, id) {
      refuseSelf(actor, id, 'delete');
      if (!(await users.delete(id))) throw new NotFoundError('No user with this id.');
    },
  };
}
