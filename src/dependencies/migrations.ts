import type { Knex } from 'knex';
import { MIGRATIONS } from '../../migrations';

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

export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(MIGRATION_CONFIG)) as [number, string[]];
  return applied;
}

export async function rollbackAll(db: Knex): Promise<void> {
  await db.migrate.rollback(MIGRATION_CONFIG, true);
}
