import type { Knex } from 'knex';

/** What knex hands a client's `_query`, and what it reads back from it. */
export interface KnexQueryObject {
  sql?: string;
  bindings?: unknown[];
  method?: string;
  options?: { name?: string };
  response?: unknown;
}

/** The part of knex's PostgreSQL client that the embedded-PGlite and prepared-statement clients override. */
export interface KnexPostgresClient {
  _query(connection: unknown, obj: KnexQueryObject): Promise<unknown>;
}

// knex exposes its PostgreSQL client only as an untyped internal module.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const KnexPostgresClient = require('knex/lib/dialects/postgres/index.js') as new (
  config: Knex.Config,
) => KnexPostgresClient;
