import type { Knex } from 'knex';

/** What knex hands a client's `_query`, and what it reads back from it. */
export interface KnexQueryObject {
  sql?: string;
  bindings?: unknown[];
  method?: string;
  options?: { name?: string; query_timeout?: number };
  response?: unknown;
}

/**
 * The part of knex's PostgreSQL client that the embedded-PGlite, prepared-statement and deadline clients
 * override or call.
 */
export interface KnexPostgresClient {
  _query(connection: unknown, obj: KnexQueryObject): Promise<unknown>;
  /** A connection from the pool, waiting at most `acquireConnectionTimeout`. */
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
  /** The driver's connection options (node-postgres's, for a server). */
  connectionSettings?: { query_timeout?: number; statement_timeout?: number };
}

// knex exposes its PostgreSQL client only as an untyped internal module.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const KnexPostgresClient = require('knex/lib/dialects/postgres/index.js') as new (
  config: Knex.Config,
) => KnexPostgresClient;
