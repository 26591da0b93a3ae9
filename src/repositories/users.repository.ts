import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';
import type { UserRole } from '../models/scopes';
import type { User, UserStatus } from '../models/user';
import { ConflictError } from '../utils/errors';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';
import { keysetQuery, newestFirst } from './keyset-query';
import { isUniqueViolation } from './postgres-errors';

interface UserRow {
  id: string;
  email: string | null;
  name: string;
  role: UserRole;
  status: UserStatus;
  api_version: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface UserCredentials {
  id: string;
  role: UserRole;
  status: UserStatus;
  password_hash: string | null;
  api_version: string;
}

export interface UserListFilters {
  role?: UserRole;
  status?: UserStatus;
  email?: string;
}

export type UserListRow = UserRow & KeysetRow;

const USER_COLUMNS = [
  'id',
  'email',
  'name',
  'role',
  'status',
  'api_version',
  'version',
  'created_at',
  'updated_at',
] as const;

function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    api_version: row.api_version,
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export class UsersRepository {
  constructor(private readonly deps: { db: Database }) {}

  async create(
    input: {
      email: string | null;
      name: string;
      passwordHash: string | null;
      role: UserRole;
      apiVersion: string;
    },
    trx: Knex.Transaction,
  ): Promise<User> {
    try {
      const [row] = await trx('users')
        .insert({
          email: input.email,
          name: input.name,
          password_hash: input.passwordHash,
          role: input.role,
          api_version: input.apiVersion,
        })
        .returning<UserRow[]>(USER_COLUMNS);
      return toUser(row!);
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_unique')) {
        throw new ConflictError('An account with this email already exists.', { cause: error });
      }
      throw error;
    }
  }

  /** Bulk insert for seeding; emails that already exist are skipped. Returns the rows added. */
  async insertMany(
    rows: Array<{
      email: string | null;
      name: string;
      passwordHash: string | null;
      role: UserRole;
      apiVersion: string;
    }>,
    trx: Knex.Transaction,
  ): Promise<User[]> {
    if (rows.length === 0) return [];
    const inserted = await trx('users')
      .insert(
        rows.map((row) => ({
          email: row.email,
          name: row.name,
          password_hash: row.passwordHash,
          role: row.role,
          api_version: row.apiVersion,
        })),
      )
      .onConflict('email')
      .ignore()
      .returning<UserRow[]>(USER_COLUMNS);
    return inserted.map(toUser);
  }

  async findById(id: string, db: Knex = this.deps.db): Promise<User | undefined> {
    const row = (await db('users').select(USER_COLUMNS).where({ id }).first()) as UserRow | undefined;
    return row ? toUser(row) : undefined;
  }

  /** Locks the row until the transaction ends, so a concurrent write waits and then sees the new version. */
  async findByIdForUpdate(id: string, trx: Knex.Transaction): Promise<User | undefined> {
    const row = (await trx('users').select(USER_COLUMNS).where({ id }).forUpdate().first()) as
      UserRow | undefined;
    return row ? toUser(row) : undefined;
  }

  async findCredentialsByEmail(email: string): Promise<UserCredentials | undefined> {
    return (await this.deps
      .db('users')
      .select('id', 'role', 'status', 'password_hash', 'api_version')
      .where({ email })
      .first()) as UserCredentials | undefined;
  }

  async findCredentialsById(id: string, db: Knex = this.deps.db): Promise<UserCredentials | undefined> {
    return (await db('users')
      .select('id', 'role', 'status', 'password_hash', 'api_version')
      .where({ id })
      .first()) as UserCredentials | undefined;
  }

  async update(
    id: string,
    changes: {
      name?: string;
      role?: UserRole;
      status?: UserStatus;
      passwordHash?: string;
      apiVersion?: string;
    },
    trx: Knex.Transaction,
  ): Promise<User | undefined> {
    const { passwordHash, apiVersion, ...rest } = changes;
    // Every change, the password included, is a new version: the ETag a client holds no longer matches.
    const [row] = await trx('users')
      .where({ id })
      .update({
        ...rest,
        ...(passwordHash ? { password_hash: passwordHash } : {}),
        ...(apiVersion ? { api_version: apiVersion } : {}),
        version: trx.raw('?? + 1', ['version']),
        updated_at: trx.fn.now(),
      })
      .returning<UserRow[]>(USER_COLUMNS);
    return row ? toUser(row) : undefined;
  }

  async delete(id: string, trx: Knex.Transaction): Promise<boolean> {
    return (await trx('users').where({ id }).del()) > 0;
  }

  /** Newest first, after the keyset `after`. */
  list(filters: UserListFilters, limit: number, after: KeysetPosition | undefined): Promise<UserListRow[]> {
    const { db } = this.deps;
    const query = db('users').select(USER_COLUMNS);
    if (filters.role) void query.where('role', filters.role);
    if (filters.status) void query.where('status', filters.status);
    if (filters.email) void query.where('email', filters.email);
    return keysetQuery<UserRow>(db, query, newestFirst(), limit, after);
  }

  static toUser = toUser;
}
