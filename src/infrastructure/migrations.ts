import type { Knex } from 'knex';
import pg from 'pg';
import { MIGRATIONS } from '../../migrations';
import { isEmbeddedPglite } from './pglite-client';

/**
 * Migrations are listed in code rather than discovered on disk, so the same list runs under tsx, jest
 * and the compiled build, on PGlite and on PostgreSQL.
 */
const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: () => Promise.resolve(MIGRATIONS.map(([name]) => name)),
  getMigrationName: (name) => name,
  getMigration: (name) => {
    const migration = MIGRATIONS.find(([candidate]) => candidate === name);
    if (!migration) throw new Error(`Unknown migration ${name}`);
    return Promise.resolve(migration[1]);
  },
};

export const MIGRATION_CONFIG: Knex.MigratorConfig = { migrationSource, tableName: 'knex_migrations' };

/** Names the PostgreSQL advisory lock every instance of this API takes around its migrations (any constant). */
const MIGRATION_LOCK_KEY = 0x70617069; // 'papi'

export async function migrateToLatest(db: Knex): Promise<string[]> {
  return withMigrationLock(db, async () => {
    const [, applied] = (await db.migrate.latest(MIGRATION_CONFIG)) as [number, string[]];
    return applied;
  });
}

/**
 * knex's own lock is a row in knex_migrations_lock, a table knex creates first, with a check-then-create
 * that is not atomic: instances started at once on an empty database race to create knex_migrations and
 * all but one fail with "relation already exists" (tests/integration/migrations.test.ts). A session-level
 * advisory lock serialises the whole of it. It is held on a connection of its own, outside the pool (a
 * pool of one would deadlock) and without the pool's timeouts (the wait lasts as long as another
 * instance's migrations, longer than any one statement may); PostgreSQL releases it if the process dies.
 * PGlite serves one process per database and needs no lock.
 */
async function withMigrationLock<T>(db: Knex, run: () => Promise<T>): Promise<T> {
  if (isEmbeddedPglite(db)) return run();
  const settings = (db.client as { connectionSettings: unknown }).connectionSettings;
  const connection = new pg.Client(
    typeof settings === 'string'
      ? { connectionString: settings }
      : { ...(settings as pg.ClientConfig), statement_timeout: 0, query_timeout: undefined },
  );
  // Losing this connection mid-migration only loses the advisory lock (knex's lock still guards the
  // batch); without a listener its 'error' event would end the process.
  connection.on('error', () => undefined);
  await connection.connect();
  try {
    await connection.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    return await run();
  } finally {
    await connection.end();
  }
}

export async function rollbackAll(db: Knex): Promise<void> {
  await db.migrate.rollback(MIGRATION_CONFIG, true);
}
