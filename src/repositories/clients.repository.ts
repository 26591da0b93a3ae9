import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';
import type { Client, ClientJwks, TokenEndpointAuthMethod } from '../models/client';
import type { ClientScope } from '../models/scopes';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';
import { keysetQuery, newestFirst } from './keyset-query';

interface ClientRow {
  id: string;
  name: string;
  scopes: ClientScope[];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  jwks: ClientJwks | null;
  jwks_uri: string | null;
  api_version: string;
  version: number;
  created_at: Date;
}

/** What authenticating a client needs: its secret's hash or its keys, by its method. */
export interface ClientAuthentication {
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  secret_hash: string | null;
  jwks: ClientJwks | null;
  jwks_uri: string | null;
  scopes: ClientScope[];
}

/** How a new client authenticates: a secret, or (private_key_jwt) one key source and no secret. */
export type NewClientCredentials =
  | { method: 'client_secret_basic' | 'client_secret_post'; secretHash: string }
  | { method: 'private_key_jwt'; jwks: ClientJwks; jwksUri?: undefined }
  | { method: 'private_key_jwt'; jwks?: undefined; jwksUri: string };

export type ClientListRow = ClientRow & KeysetRow;

const CLIENT_COLUMNS = [
  'id',
  'name',
  'scopes',
  'token_endpoint_auth_method',
  'jwks',
  'jwks_uri',
  'api_version',
  'version',
  'created_at',
] as const;

function toClient(row: ClientRow): Client {
  return {
    client_id: row.id,
    name: row.name,
    scopes: row.scopes,
    token_endpoint_auth_method: row.token_endpoint_auth_method,
    ...(row.jwks ? { jwks: row.jwks } : {}),
    ...(row.jwks_uri ? { jwks_uri: row.jwks_uri } : {}),
    api_version: row.api_version,
    version: row.version,
    created_at: row.created_at.toISOString(),
  };
}

export class ClientsRepository {
  constructor(private readonly deps: { db: Database }) {}

  async create(
    input: {
      name: string;
      scopes: ClientScope[];
      credentials: NewClientCredentials;
      createdBy: string;
      apiVersion: string;
    },
    trx: Knex.Transaction,
  ): Promise<Client> {
    const { credentials } = input;
    const [row] = await trx('oauth_clients')
      .insert({
        name: input.name,
        scopes: input.scopes,
        token_endpoint_auth_method: credentials.method,
        secret_hash: credentials.method === 'private_key_jwt' ? null : credentials.secretHash,
        // knex would send a JS object as a PostgreSQL array literal: jsonb wants the JSON text.
        jwks:
          credentials.method === 'private_key_jwt' && credentials.jwks
            ? JSON.stringify(credentials.jwks)
            : null,
        jwks_uri: credentials.method === 'private_key_jwt' ? (credentials.jwksUri ?? null) : null,
        created_by: input.createdBy,
        api_version: input.apiVersion,
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

  async findAuthentication(id: string): Promise<ClientAuthentication | undefined> {
    return (await this.deps
      .db('oauth_clients')
      .select('token_endpoint_auth_method', 'secret_hash', 'jwks', 'jwks_uri', 'scopes')
      .where({ id })
      .first()) as ClientAuthentication | undefined;
  }

  /**
   * Records an assertion's `jti` as used until `expiresAt`; false when it was used before and is still
   * unexpired. Two requests presenting the same assertion race on the primary key: the second insert waits
   * for the first's transaction, then finds the row and (being unexpired) updates nothing, so at most one
   * wins. A row whose assertion expired is taken over, so reuse of a jti after expiry is judged afresh.
   */
  async consumeAssertionJti(
    clientId: string,
    jti: string,
    expiresAt: Date,
    trx: Knex.Transaction,
  ): Promise<boolean> {
    const result = await trx.raw<{ rows: unknown[] }>(
      `INSERT INTO oauth_client_assertion_jtis (client_id, jti, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at
       WHERE oauth_client_assertion_jtis.expires_at <= now()
       RETURNING jti`,
      [clientId, jti, expiresAt],
    );
    // The client's expired jtis go here, a few rows under its own key: no sweeper needed.
    await trx('oauth_client_assertion_jtis')
      .where({ client_id: clientId })
      .where('expires_at', '<=', trx.fn.now())
      .del();
    return result.rows.length === 1;
  }

  async updateSecretHash(id: string, secretHash: string, trx: Knex.Transaction): Promise<Client | undefined> {
    const [row] = await trx('oauth_clients')
      .where({ id })
      // A new secret is a new version of the client: the ETag read before the rotation no longer matches.
      .update({ secret_hash: secretHash, version: trx.raw('?? + 1', ['version']) })
      .returning<ClientRow[]>(CLIENT_COLUMNS);
    return row ? toClient(row) : undefined;
  }

  /** Moves the client's pinned API version; a new version of the client. */
  async updateApiVersion(id: string, apiVersion: string, trx: Knex.Transaction): Promise<Client | undefined> {
    const [row] = await trx('oauth_clients')
      .where({ id })
      .update({ api_version: apiVersion, version: trx.raw('?? + 1', ['version']) })
      .returning<ClientRow[]>(CLIENT_COLUMNS);
    return row ? toClient(row) : undefined;
  }

  /** Replaces a `private_key_jwt` client's key source; undefined for a missing or secret client. */
  async updateKeys(
    id: string,
    keys: { jwks: ClientJwks; jwksUri?: undefined } | { jwks?: undefined; jwksUri: string },
    trx: Knex.Transaction,
  ): Promise<Client | undefined> {
    const [row] = await trx('oauth_clients')
      .where({ id, token_endpoint_auth_method: 'private_key_jwt' })
      .update({
        jwks: keys.jwks ? JSON.stringify(keys.jwks) : null,
        jwks_uri: keys.jwksUri ?? null,
        version: trx.raw('?? + 1', ['version']),
      })
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
