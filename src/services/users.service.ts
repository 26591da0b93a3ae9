import type { Knex } from 'knex';
import type { PasswordHasher } from '../infrastructure/password-hasher';
import type { Principal } from '../models/principal';
import type { UserRole } from '../models/scopes';
import type { User, UserStatus } from '../models/user';
import { auditEventFor, type AuditRepository } from '../repositories/audit.repository';
import type { SessionsRepository } from '../repositories/sessions.repository';
import { UsersRepository, type UserListFilters } from '../repositories/users.repository';
import type { Page } from '../utils/cursor';
import { keysetPage } from '../utils/keyset-page';
import { ConflictError, NotFoundError, ValidationError } from '../utils/errors';
import { writeIfMatch } from './conditional-write';
import type { UnitOfWork, WriteContext } from '../infrastructure/unit-of-work';
import type { EventOutbox } from './event-outbox';
import { requireSupportedVersion } from '../versions/catalog';

export interface UsersService {
  getCurrent(principal: Principal): Promise<User>;
  updateCurrent(
    changes: { name?: string; api_version?: string },
    ifMatch: string | undefined,
    context: WriteContext,
  ): Promise<User>;
  changePassword(
    input: { current_password: string; new_password: string },
    context: WriteContext,
  ): Promise<void>;
  list(filters: UserListFilters, limit: number, cursor: string | undefined): Promise<Page<User>>;
  get(id: string): Promise<User>;
  update(
    id: string,
    changes: { role?: UserRole; status?: UserStatus },
    ifMatch: string | undefined,
    context: WriteContext,
  ): Promise<User>;
  delete(id: string, ifMatch: string | undefined, context: WriteContext): Promise<void>;
}

export function createUsersService(deps: {
  users: UsersRepository;
  sessions: SessionsRepository;
  hasher: PasswordHasher;
  audit: AuditRepository;
  outbox: EventOutbox;
}): UsersService {
  const { users, sessions, hasher, audit, outbox } = deps;
  // Account events are for administrators' endpoints only.
  const userChanged = (user: User, unit: UnitOfWork) =>
    outbox.record(
      unit,
      { type: 'user.updated', resourceType: 'user', resourceId: user.id, data: user },
      'administrators',
    );

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

  const lockExisting = (id: string, missing: string) => async (trx: Knex.Transaction) => {
    const user = await users.findByIdForUpdate(id, trx);
    if (!user) throw new NotFoundError(missing);
    return user;
  };

  return {
    async getCurrent(principal) {
      const id = userIdOf(principal);
      // Our own tokens load the account with their session, in this same request: no second query.
      if (principal.kind === 'user' && principal.account) return principal.account;
      const user = await users.findById(id);
      if (!user) throw new NotFoundError('The user no longer exists.');
      return user;
    },

    updateCurrent(changes, ifMatch, context) {
      const userId = userIdOf(context.actor);
      return writeIfMatch(
        context,
        ifMatch,
        lockExisting(userId, 'The user no longer exists.'),
        async (trx, before) => {
          const apiVersion =
            changes.api_version === undefined ? undefined : requireSupportedVersion(changes.api_version);
          const user = (await users.update(
            userId,
            {
              ...(changes.name !== undefined ? { name: changes.name } : {}),
              ...(apiVersion !== undefined ? { apiVersion } : {}),
            },
            trx,
          ))!;
          await audit.append(
            auditEventFor(
              context,
              'user.updated',
              'user',
              userId,
              apiVersion !== undefined && apiVersion !== before.api_version
                ? { api_version: apiVersion, previous_api_version: before.api_version }
                : undefined,
            ),
            trx,
          );
          await userChanged(user, context);
          return user;
        },
      );
    },

    async changePassword(input, context) {
      const userId = userIdOf(context.actor);
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
      await context.transaction(async (trx) => {
        await users.update(userId, { passwordHash }, trx);
        // Every other sign-in ends; the session making this call stays.
        await sessions.revokeAllOfUser(userId, context.actor.sessionId, trx);
        await audit.append(auditEventFor(context, 'user.password_changed', 'user', userId), trx);
      });
    },

    async list(filters, limit, cursor) {
      return keysetPage({
        cursor,
        limit,
        fetch: (limitPlusOne, after) => users.list(filters, limitPlusOne, after),
        toModel: UsersRepository.toUser,
      });
    },

    async get(id) {
      const user = await users.findById(id);
      if (!user) throw new NotFoundError('No user with this id.');
      return user;
    },

    update(id, changes, ifMatch, context) {
      refuseSelf(context.actor, id, 'change the role or status of');
      return writeIfMatch(context, ifMatch, lockExisting(id, 'No user with this id.'), async (trx) => {
        const user = (await users.update(id, changes, trx))!;
        if (changes.status === 'disabled') await sessions.revokeAllOfUser(id, undefined, trx);
        await audit.append(auditEventFor(context, 'user.admin_updated', 'user', id), trx);
        await userChanged(user, context);
        return user;
      });
    },

    async delete(id, ifMatch, context) {
      refuseSelf(context.actor, id, 'delete');
      await writeIfMatch(context, ifMatch, lockExisting(id, 'No user with this id.'), async (trx) => {
        await users.delete(id, trx);
        await audit.append(auditEventFor(context, 'user.deleted', 'user', id), trx);
        await outbox.record(
          context,
          { type: 'user.deleted', resourceType: 'user', resourceId: id, data: { id } },
          'administrators',
        );
      });
    },
  };
}
