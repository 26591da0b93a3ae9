import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';
import type { Client } from '../models/client';
import type { ClientScope } from '../models/scopes';

interface ClientRow {
  id: string;
  name: string;
  scopes: ClientScope[];
  version: number;
  created_at: Date;
}

const CLIENT_COLUMNS = ['id', 'name', 'scopes', 'version', 'created_at'] as const;

function toClient(row: ClientRow): Client {
  return {
    client_id: row.id,
    name: row.name,
    scopes: row.scopes,
    version: row.version,
    created_at: row.created_at.toISOString(),
  };
}

export class ClientsRepository {
  constructor(private readonly deps: { db: Database }) {}

  async create(
    input: { name: string; scopes: ClientScope[]; secretHash: string; createdBy: string },
    trx: Knex.Transaction,
  ): Promise<Client> {
    const [row] = await trx('oauth_clients')
      .insert({
        name: input.name,
        scopes: input.scopes,
        secret_hash: input.secretHash,
        created_by: input.createdBy,
      })
      .returning<ClientRow[]>(CLIENT_COLUMNS);
    return toClient(row!);
  }

  async findById(id: string): Promise<Client | undefined> {
    const row = (await this.deps.db('oauth_clients').select(CLIENT_COLUMNS).where({ id }).first()) as
      ClientRow | undefined;
    return row ? toClient(row) : undefined;
  }

  /** Locks the row until the transaction ends, so a concurrent write waits and then sees the new version. */
  async findByIdForUpdate(id: string, trx: Knex.Transaction): Promise<Client | undefined> {
    const row = (await trx('oauth_clients').select(CLIENT_COLUMNS).where({ id }).forUpdate().first()) as
      ClientRow | undefined;
    return row ? toClient(row) : undefined;
  }

  async findSecretHash(id: string): Promise<{ secret_hash: string; scopes: ClientScope[] } | undefined> {
    return (await this.deps.db('oauth_clients').select('secret_hash', 'scopes').where({ id }).first()) as
      { secret_hash: string; scopes: ClientScope[] } | undefined;
  }

  async updateSecretHash(id: string, secretHash: string, trx: Knex.Transaction): Promise<Client | undefined> {
    const [row] = await trx('oauth_clients')
      .where({ id })
      // A new secret is a new version of the client: the ETag read before the rotation no longer matches.
      .update({ secret_hash: secretHash, version: trx.raw('?? + 1', ['version']) })
      .returning<ClientRow[]>(CLIENT_COLUMNS);
    return row ? toClient(row) : undefined;
  }

  async delete(id: string, trx: Knex.Transaction): Promise<boolean> {
    return (await trx('oauth_clients').where({ id }).del()) > 0;
  }

  async list(
    limit: number,
    after: readonly [string, string] | undefined,
  ): Promise<Array<ClientRow & { cursor_created_at: string }>> {
    const query = this.deps
      .db('oauth_clients')
      .select(...CLIENT_COLUMNS, this.deps.db.raw('created_at::text as cursor_created_at'))
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit);
    if (after) void query.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [after[0], after[1]]);
    return (await query) as Array<ClientRow & { cursor_created_at: string }>;
  }

  static toClient = toClient;
}
