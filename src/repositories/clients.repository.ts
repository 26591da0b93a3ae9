import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';
import type { Client } from '../models/client';
import type { ClientScope } from '../models/scopes';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';
import { keysetQuery, newestFirst } from './keyset-query';

interface ClientRow {
  id: string;
  name: string;
  scopes: ClientScope[];
  version: number;
  created_at: Date;
}

export type ClientListRow = ClientRow & KeysetRow;

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

  /** Newest first, after the keyset `after`. */
  list(limit: number, after: KeysetPosition | undefined): Promise<ClientListRow[]> {
    const { db } = this.deps;
    const query = db('oauth_clients').select(CLIENT_COLUMNS);
    return keysetQuery<ClientRow>(db, query, newestFirst(), limit, after);
  }

  static toClient = toClient;
}
