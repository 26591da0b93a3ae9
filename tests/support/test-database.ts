import { readFile } from 'node:fs/promises';
import { createPgKnex, createPglite, wrapPglite, type DatabaseHandle } from '../../src/dependencies/database';
import { adminConnection, newDatabaseName, TEMPLATE_ENV, urlForDatabase } from './template-database';

/**
 * A private, migrated database for one test file: a PGlite copy of the template in memory, or a fresh
 * PostgreSQL database cloned from the template when DATABASE_URL is set.
 */
export async function createTestDatabase(): Promise<DatabaseHandle> {
  const template = process.env[TEMPLATE_ENV];
  if (!template) throw new Error(`${TEMPLATE_ENV} is not set: run the tests through jest's globalSetup`);
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const dump = await readFile(template);
    const pglite = await createPglite({ loadDataDir: new Blob([dump]) });
    return wrapPglite(pglite);
  }
  const name = newDatabaseName('test');
  const admin = adminConnection(databaseUrl);
  await admin.raw('CREATE DATABASE ?? TEMPLATE ??', [name, template]);
  const db = createPgKnex({
    url: urlForDatabase(databaseUrl, name),
    poolMin: 0,
    poolMax: 5,
    statementTimeoutMs: 5000,
    acquireTimeoutMs: 5000,
  });
  return {
    db,
    close: async () => {
      await db.destroy();
      await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      await admin.destroy();
    },
  };
}
