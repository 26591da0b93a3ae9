import bundledDocument from '../../generated/openapi.json';
import type { PasswordHasher } from '../infrastructure/password-hasher';
import type { UnitOfWork } from '../infrastructure/unit-of-work';
import type { UserRole } from '../models/scopes';
import type { User } from '../models/user';
import type { AuditRepository, NewAuditEvent } from '../repositories/audit.repository';
import type { UsersRepository } from '../repositories/users.repository';
import { ValidationError } from '../utils/errors';
import type { EventOutbox } from './event-outbox';
import { LATEST_API_VERSION } from '../versions/catalog';

// The spec's limits, read from the bundled spec itself: the CLI and the seed obey the same rule as the API.
const { minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX } = bundledDocument.components.schemas.Password;
const EMAIL_MAX = bundledDocument.components.schemas.User.properties.email.maxLength;

declare const preparedBrand: unique symbol;
/** A password that passed the rules, hashed: only `preparePassword` makes one. */
export interface PreparedPassword {
  readonly [preparedBrand]: true;
  readonly hash: string;
}

export interface NewUser {
  email: string | null;
  name: string;
  role: UserRole;
  /** `null` for accounts that only sign in through an external identity provider. */
  password: PreparedPassword | null;
}

/** Where an account comes from, which decides the actor of its `user.created` row. */
export type UserOrigin =
  | { via: 'registration'; requestId: string }
  | { via: 'external_identity_provider'; issuer: string; requestId: string }
  | { via: 'cli' | 'seed'; runId: string };

export interface UserCreation {
  /**
   * The spec's length limits and the common-password list, then argon2id. Called before the caller's
   * transaction opens: hashing takes milliseconds (longer when sign-ins queue for the hasher), and a
   * transaction held open meanwhile would hold a pooled connection with it.
   */
  preparePassword(password: string, pointer?: string): Promise<PreparedPassword>;
  /** The one way a user is created: the row, its `user.created` audit row and event, in the caller's unit of work. */
  create(unit: UnitOfWork, user: NewUser, origin: UserOrigin): Promise<User>;
  /** The same for many at once (seeding): users whose email exists already are skipped, not refused. */
  createMissing(unit: UnitOfWork, users: readonly NewUser[], origin: UserOrigin): Promise<User[]>;
}

/** Trimmed, NFC, domain in lower case (RFC 5321: only the local part may be case-sensitive). */
export function normalizeEmail(email: string): string {
  const trimmed = email.normalize('NFC').trim();
  const at = trimmed.lastIndexOf('@');
  if (at < 1 || at === trimmed.length - 1 || /\s/.test(trimmed) || trimmed.length > EMAIL_MAX) {
    throw new ValidationError('The email address is not valid.', [
      {
        location: 'body',
        pointer: '/email',
        detail: `must be an email address of at most ${EMAIL_MAX} characters`,
      },
    ]);
  }
  return `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}`;
}

function auditRow(user: User, origin: UserOrigin): NewAuditEvent {
  const base = { action: 'user.created', resource_type: 'user', resource_id: user.id } as const;
  switch (origin.via) {
    case 'registration':
      return {
        ...base,
        actor_type: 'user',
        actor_id: user.id,
        request_id: origin.requestId,
        details: { via: 'registration' },
      };
    case 'external_identity_provider':
      return {
        ...base,
        actor_type: 'user',
        actor_id: user.id,
        request_id: origin.requestId,
        details: { via: origin.via, issuer: origin.issuer },
      };
    default:
      return {
        ...base,
        actor_type: 'cli',
        actor_id: null,
        request_id: origin.runId,
        details: { via: origin.via },
      };
  }
}

export function createUserCreation(deps: {
  users: UsersRepository;
  audit: AuditRepository;
  outbox: EventOutbox;
  hasher: PasswordHasher;
}): UserCreation {
  const { users, audit, outbox, hasher } = deps;
  const createdEvent = (user: User) =>
    ({ type: 'user.created', resourceType: 'user', resourceId: user.id, data: user }) as const;
  const fields = (user: NewUser) => ({
    email: user.email === null ? null : normalizeEmail(user.email),
    name: user.name,
    role: user.role,
    passwordHash: user.password?.hash ?? null,
    apiVersion: LATEST_API_VERSION,
  });
  return {
    async preparePassword(password, pointer = '/password') {
      if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
        throw new ValidationError(`The password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`, [
          { location: 'body', pointer, detail: `must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters` },
        ]);
      }
      if (hasher.isCommon(password)) {
        throw new ValidationError('The password is too common.', [
          { location: 'body', pointer, detail: 'is one of the most common passwords' },
        ]);
      }
      return { hash: await hasher.hash(password) } as PreparedPassword;
    },

    async create(unit, user, origin) {
      const created = await unit.transaction(async (trx) => {
        const row = await users.create(fields(user), trx);
        await audit.append(auditRow(row, origin), trx);
        return row;
      });
      await outbox.record(unit, createdEvent(created), 'administrators');
      return created;
    },

    async createMissing(unit, newUsers, origin) {
      const created = await unit.transaction(async (trx) => {
        const rows = await users.insertMany(newUsers.map(fields), trx);
        await audit.appendMany(
          rows.map((row) => auditRow(row, origin)),
          trx,
        );
        return rows;
      });
      await outbox.recordMany(unit, created.map(createdEvent), 'administrators');
      return created;
    },
  };
}
