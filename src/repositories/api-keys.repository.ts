import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';
import type { ApiKey, ApiKeyScope } from '../models/api-key';
import type { ResourceOwner } from '../models/owner';
import { ownerColumns, whereOwned } from './owner-columns';
import type { ClientScope, UserRole } from '../models/scopes';
import type { UserStatus } from '../models/user';
import { isoOrNull } from '../utils/instant';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';
import { keysetQuery, newestFirst } from './keyset-query';

interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  previous_secret_expires_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export type ApiKeyListRow = ApiKeyRow & KeysetRow;

/** A key found by one of its secrets, with what authorizing a request needs of its owner as it is now. */
export interface ApiKeyPrincipalRow {
  id: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  owner_user_id: string | null;
  owner_client_id: string | null;
  role: UserRole | null;
  status: UserStatus | null;
  client_scopes: ClientScope[] | null;
  /** The owner's pinned API version. */
  api_version: string | null;
  /** Whether the database's clock says the key has expired (one clock for every instance). */
  expired: boolean;
}

const KEY_COLUMNS = [
  'id',
  'name',
  'prefix',
  'scopes',
  'expires_at',
  'revoked_at',
  'last_used_at',
  'previous_secret_expires_at',
  'version',
  'created_at',
  'updated_at',
] as const;

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    expires_at: isoOrNull(row.expires_at),
    revoked_at: isoOrNull(row.revoked_at),
    last_used_at: isoOrNull(row.last_used_at),
    previous_secret_expires_at: isoOrNull(row.previous_secret_expires_at),
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

// Every request made with a key runs this: the current secret, or the previous one inside its overlap
// window, joined with the owner so a disabled user or a narrowed client is seen on the same round trip.
const FIND_PRINCIPAL = {
  name: 'api-keys.find-principal',
  sql: `SELECT k.id, k.scopes, k.expires_at, k.revoked_at, k.last_used_at, k.owner_user_id, k.owner_client_id,
               u.role, u.status, c.scopes AS client_scopes, COALESCE(u.api_version, c.api_version) AS api_version,
               (k.expires_at IS NOT NULL AND k.expires_at <= now()) AS expired
          FROM api_keys k
          LEFT JOIN users u ON u.id = k.owner_user_id
          LEFT JOIN oauth_clients c ON c.id = k.owner_client_id
         WHERE k.secret_hash = ?
            OR (k.previous_secret_hash = ? AND k.previous_secret_expires_at > now())`,
};

export class ApiKeysRepository {
  constructor(private readonly deps: { db: Database }) {}

  async create(
    owner: ResourceOwner,
    fields: {
      name: string;
      prefix: string;
      scopes: readonly ApiKeyScope[];
      secretHash: string;
      expiresAt: string | null;
    },
    trx: Knex.Transaction,
  ): Promise<ApiKey> {
    const [row] = await trx('api_keys')
      .insert({
        ...ownerColumns(owner),
        name: fields.name,
        prefix: fields.prefix,
        scopes: [...fields.scopes],
        secret_hash: fields.secretHash,
        expires_at: fields.expiresAt,
      })
      .returning<ApiKeyRow[]>(KEY_COLUMNS);
    return toApiKey(row!);
  }

  /** The owner's key; someone else's is as absent as a missing one. */
  async findOwned(owner: ResourceOwner, id: string, db: Knex = this.deps.db): Promise<ApiKey | undefined> {
    const row = (await whereOwned(db('api_keys').select(KEY_COLUMNS).where({ id }), owner).first()) as
      ApiKeyRow | undefined;
    return row ? toApiKey(row) : undefined;
  }

  /** Locks the row until the transaction ends, so a concurrent write waits and then sees the new version. */
  async findOwnedForUpdate(
    owner: ResourceOwner,
    id: string,
    trx: Knex.Transaction,
  ): Promise<(ApiKey & { expired: boolean }) | undefined> {
    const row = (await whereOwned(
      trx('api_keys')
        .select([...KEY_COLUMNS, trx.raw('(expires_at IS NOT NULL AND expires_at <= now()) AS expired')])
        .where({ id })
        .forUpdate(),
      owner,
    ).first()) as (ApiKeyRow & { expired: boolean }) | undefined;
    return row ? { ...toApiKey(row), expired: row.expired } : undefined;
  }

  async rename(id: string, name: string, trx: Knex.Transaction): Promise<ApiKey> {
    return this.bump(trx('api_keys').where({ id }), { name }, trx);
  }

  /** The new secret works from now on; the current one keeps working beside it until `previousExpiresAt`. */
  async rotate(
    id: string,
    fields: { secretHash: string; prefix: string; previousExpiresAt: Date },
    trx: Knex.Transaction,
  ): Promise<ApiKey> {
    return this.bump(
      trx('api_keys').where({ id }),
      {
        previous_secret_hash: trx.ref('secret_hash'),
        previous_secret_expires_at: fields.previousExpiresAt,
        secret_hash: fields.secretHash,
        prefix: fields.prefix,
      },
      trx,
    );
  }

  /** Ends the key and any previous secret still in its overlap window. */
  async revoke(id: string, trx: Knex.Transaction): Promise<ApiKey> {
    return this.bump(
      trx('api_keys').where({ id }),
      { revoked_at: trx.fn.now(), previous_secret_hash: null, previous_secret_expires_at: null },
      trx,
    );
  }

  private async bump(
    query: Knex.QueryBuilder,
    changes: Record<string, unknown>,
    trx: Knex.Transaction,
  ): Promise<ApiKey> {
    const [row] = await query
      .update({ ...changes, version: trx.raw('?? + 1', ['version']), updated_at: trx.fn.now() })
      .returning<ApiKeyRow[]>(KEY_COLUMNS);
    return toApiKey(row!);
  }

  /** The owner's keys, newest first, after the keyset `after`. */
  list(owner: ResourceOwner, limit: number, after: KeysetPosition | undefined): Promise<ApiKeyListRow[]> {
    const { db } = this.deps;
    const query = whereOwned(db('api_keys').select(KEY_COLUMNS), owner);
    return keysetQuery<ApiKeyRow>(db, query, newestFirst(), limit, after);
  }

  async findPrincipal(secretHash: string): Promise<ApiKeyPrincipalRow | undefined> {
    const { rows } = (await this.deps.db
      .raw(FIND_PRINCIPAL.sql, [secretHash, secretHash])
      .options({ name: FIND_PRINCIPAL.name })) as { rows: ApiKeyPrincipalRow[] };
    return rows[0];
  }

  /**
   * Records a use at most once a minute per key: the condition makes the write a no-op for every other
   * request of that minute, and concurrent requests race harmlessly (the last writer sets the same minute).
   * The caller only calls when the value it read is stale, so most requests write nothing at all.
   */
  async touchLastUsed(id: string): Promise<void> {
    await this.deps
      .db('api_keys')
      .where({ id })
      .where((q) =>
        q
          .whereNull('last_used_at')
          .orWhere('last_used_at', '<', this.deps.db.raw("now() - interval '1 minute'")),
      )
      .update({ last_used_at: this.deps.db.fn.now() });
  }

  static toApiKey = toApiKey;
}
