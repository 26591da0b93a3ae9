import { createPgKnex } from '../../src/infrastructure/database';
import { migrateToLatest } from '../../src/infrastructure/migrations';
import { MIGRATIONS } from '../../migrations';
import { adminConnection, newDatabaseName, urlForDatabase } from '../support/template-database';

// Several processes on one database only exist on a PostgreSQL server.
const onPostgres = process.env.DATABASE_URL ? describe : describe.skip;

onPostgres('migrations on PostgreSQL', () => {
  it('when three connections migrate an empty database at once, then each migration is applied once and none fails', async () => {
    const serverUrl = process.env.DATABASE_URL!;
    const name = newDatabaseName('migrate_race');
    const admin = adminConnection(serverUrl);
    await admin.raw('CREATE DATABASE ??', [name]);
    // Pools of one connection, like the test template's: the lock must not need a second one.
    const instances = [0, 1, 2].map(() =>
      createPgKnex({
        url: urlForDatabase(serverUrl, name),
        poolMin: 0,
        poolMax: 1,
        statementTimeoutMs: 5000,
        acquireTimeoutMs: 5000,
        connectTimeoutMs: 5000,
        queryTimeoutMs: 10000,
      }),
    );
    try {
      const applied = await Promise.all(instances.map((db) => migrateToLatest(db)));

      expect(applied.flat().sort()).toEqual(MIGRATIONS.map(([migration]) => migration));
      const recorded = await instances[0]!('knex_migrations').pluck('name');
      expect(recorded.sort()).toEqual(MIGRATIONS.map(([migration]) => migration));
    } finally {
      await Promise.all(instances.map((db) => db.destroy()));
      await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      await admin.destroy();
    }
  });
});
