import type { PGlite, Results } from '@electric-sql/pglite';
import type { Knex } from 'knex';
import { KnexPostgresClient, type KnexQueryObject } from './knex-postgres-client';

/** What knex's PostgreSQL client reads from a pg result. */
interface PgLikeResult {
  rows: unknown[];
  rowCount: number;
  command: string;
}

const COMMAND_BY_METHOD: Record<string, string> = {
  first: 'SELECT',
  pluck: 'SELECT',
  select: 'SELECT',
  insert: 'INSERT',
  update: 'UPDATE',
  del: 'DELETE',
};

/**
 * A knex client for an in-process PGlite database.
 *
 * PGlite is a single connection, so the pool holds exactly one. The PGlite instance belongs to whoever
 * created it: knex never closes it, because knex destroys and re-creates pooled connections (after an
 * error, or when the pool is drained) and a closed PGlite cannot be reopened in place; closing it
 * mid-write is how persisted data directories got corrupted with the off-the-shelf dialect.
 */
export function createPgliteKnexClient(pglite: PGlite): typeof KnexPostgresClient {
  class PgliteKnexClient extends KnexPostgresClient {
    readonly embeddedPglite = true;

    _driver(): unknown {
      return pglite;
    }

    async acquireRawConnection(): Promise<PGlite> {
      await pglite.waitReady;
      return pglite;
    }

    async destroyRawConnection(): Promise<void> {}

    validateConnection(): boolean {
      return !pglite.closed;
    }

    checkVersion(): Promise<string> {
      return Promise.resolve('17.0');
    }

    setSchemaSearchPath(): Promise<boolean> {
      return Promise.resolve(true);
    }

    override async _query(connection: PGlite, obj: KnexQueryObject): Promise<KnexQueryObject> {
      if (!obj.sql) throw new Error('The query is empty');
      const result: Results = await connection.query(obj.sql, obj.bindings ?? []);
      const response: PgLikeResult = {
        rows: result.rows,
        rowCount: result.affectedRows ?? result.rows.length,
        command: COMMAND_BY_METHOD[obj.method ?? ''] ?? commandOf(obj.sql),
      };
      obj.response = response;
      return obj;
    }
  }
  return PgliteKnexClient;
}

function commandOf(sql: string): string {
  return (/^\s*(\w+)/.exec(sql)?.[1] ?? '').toUpperCase();
}

/** Whether a knex instance runs on embedded PGlite (one process per database) rather than a server. */
export function isEmbeddedPglite(db: Knex): boolean {
  return (db.client as { embeddedPglite?: boolean }).embeddedPglite === true;
}
