import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';
import type { ClientScope, UserRole } from '../models/scopes';
import type { User, UserStatus } from '../models/user';
import { UsersRepository } from './users.repository';

export interface SessionPrincipalRow {
  session_id: string;
  scope: string;
  revoked_at: Date | null;
  user_id: string | null;
  client_id: string | null;
  role: UserRole | null;
  status: UserStatus | null;
  client_scopes: ClientScope[] | null;
  /** The pinned API version of the session's user or client (null when it is gone). */
  api_version: string | null;
  /** The session's user as stored, read in the same query; undefined for a client's session. */
  account: User | undefined;
}

// Every authenticated request runs one of these, so each is a fixed statement prepared once per
// connection (a named statement: parsed and planned once, not on every call), and loads everything the
// request's authorization and GET /v1/users/me need in one round trip. The token says whether its
// session belongs to a user or a client, so each joins only the table it needs.
const SESSION_COLUMNS = 's.id AS session_id, s.scope, s.revoked_at, s.user_id, s.client_id';
const FIND_PRINCIPAL = {
  user: {
    name: 'sessions.find-user-principal',
    sql: `SELECT ${SESSION_COLUMNS}, u.role, u.status, u.email, u.name, u.version, u.created_at,
                 u.updated_at, NULL AS client_scopes, u.api_version
            FROM auth_sessions s LEFT JOIN users u ON u.id = s.user_id
           WHERE s.id = ?`,
  },
  client: {
    name: 'sessions.find-client-principal',
    sql: `SELECT ${SESSION_COLUMNS}, NULL AS role, NULL AS status, NULL AS email, NULL AS name,
                 NULL AS version, NULL AS created_at, NULL AS updated_at, c.scopes AS client_scopes,
                 c.api_version
            FROM auth_sessions s LEFT JOIN oauth_clients c ON c.id = s.client_id
           WHERE s.id = ?`,
  },
};

export interface SessionRow {
  id: string;
  scope: string;
  user_id: string | null;
  client_id: string | null;
  revoked_at: Date | null;
}

export interface RefreshTokenRow {
  token_hash: string;
  session_id: string;
  expires_at: Date;
  used_at: Date | null;
}

export class SessionsRepository {
  constructor(private readonly deps: { db: Database }) {}

  async create(
    input: { userId?: string; clientId?: string; scope: string },
    trx: Knex.Transaction,
  ): Promise<string> {
    const [row] = await trx('auth_sessions')
      .insert({ user_id: input.userId ?? null, client_id: input.clientId ?? null, scope: input.scope })
      .returning<Array<{ id: string }>>('id');
    return row!.id;
  }

  /** Whether this call ended the session (false when it had ended already or does not exist). */
  async revoke(sessionId: string, trx: Knex.Transaction): Promise<boolean> {
    const updated = await trx('auth_sessions')
      .where({ id: sessionId })
      .whereNull('revoked_at')
      .update({ revoked_at: trx.fn.now() });
    return updated > 0;
  }

  async revokeAllOfUser(
    userId: string,
    exceptSessionId: string | undefined,
    trx: Knex.Transaction,
  ): Promise<number> {
    const query = trx('auth_sessions').where({ user_id: userId }).whereNull('revoked_at');
    if (exceptSessionId) void query.whereNot({ id: exceptSessionId });
    return query.update({ revoked_at: trx.fn.now() });
  }

  /**
   * The session with what is needed to authorize a request made with one of its access tokens, which
   * were issued to a user or to a client. A session of the other kind comes back without its holder.
   */
  async findPrincipal(
    sessionId: string,
    holder: 'user' | 'client',
    db: Knex = this.deps.db,
  ): Promise<SessionPrincipalRow | undefined> {
    const statement = FIND_PRINCIPAL[holder];
    const { rows } = (await db.raw(statement.sql, [sessionId]).options({ name: statement.name })) as {
      rows: Array<
        Omit<SessionPrincipalRow, 'account'> &
          Pick<User, 'email' | 'name'> &
          Record<'version', number | null> &
          Record<'created_at' | 'updated_at', Date>
      >;
    };
    const row = rows[0];
    if (!row) return undefined;
    const { email, name, version, created_at, updated_at, ...principal } = row;
    const account =
      row.user_id && row.role && row.status
        ? UsersRepository.toUser({
            id: row.user_id,
            email,
            name,
            role: row.role,
            status: row.status,
            api_version: row.api_version!,
            version: version!,
            created_at,
            updated_at,
          })
        : undefined;
    return { ...principal, account };
  }

  async findSession(sessionId: string, db: Knex = this.deps.db): Promise<SessionRow | undefined> {
    return (await db('auth_sessions')
      .select('id', 'scope', 'user_id', 'client_id', 'revoked_at')
      .where({ id: sessionId })
      .first()) as SessionRow | undefined;
  }

  async insertRefreshToken(
    input: { tokenHash: string; sessionId: string; expiresAt: Date },
    trx: Knex.Transaction,
  ): Promise<void> {
    await trx('refresh_tokens').insert({
      token_hash: input.tokenHash,
      session_id: input.sessionId,
      expires_at: input.expiresAt,
    });
  }

  /**
   * Marks an unused, unexpired refresh token used and returns it. The conditional UPDATE takes the row
   * lock, so of two concurrent refreshes with the same token exactly one gets the row back.
   */
  async consumeRefreshToken(tokenHash: string, trx: Knex.Transaction): Promise<RefreshTokenRow | undefined> {
    const [row] = await trx('refresh_tokens')
      .where({ token_hash: tokenHash })
      .whereNull('used_at')
      .where('expires_at', '>', trx.fn.now())
      .update({ used_at: trx.fn.now() })
      .returning<RefreshTokenRow[]>(['token_hash', 'session_id', 'expires_at', 'used_at']);
    return row;
  }

  async findRefreshToken(tokenHash: string, db: Knex = this.deps.db): Promise<RefreshTokenRow | undefined> {
    return (await db('refresh_tokens')
      .select('token_hash', 'session_id', 'expires_at', 'used_at')
      .where({ token_hash: tokenHash })
      .first()) as RefreshTokenRow | undefined;
  }
}
