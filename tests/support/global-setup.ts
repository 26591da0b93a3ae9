import { writeFile } from 'node:fs/promises';
import knex from 'knex';
import pino from 'pino';
import { createPglite, wrapPglite } from '../../src/infrastructure/database';
import { migrateToLatest } from '../../src/infrastructure/migrations';
import {
  adminConnection,
  newDatabaseName,
  newPgliteTemplatePath,
  TEMPLATE_ENV,
  urlForDatabase,
} from './template-database';

/** Migrates one template database per run; every test file then starts from a copy of it. */
export default async function globalSetup(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    const name = newDatabaseName('template');
    const admin = adminConnection(databaseUrl);
    await admin.raw('CREATE DATABASE ??', [name]);
    await admin.destroy();
    const db = knex({
      client: 'pg',
      connection: urlForDatabase(databaseUrl, name),
      pool: { min: 0, max: 1 },
    });
    await migrateToLatest(db);
    await db.destroy();
    process.env[TEMPLATE_ENV] = name;
    return;
  }
  const pglite = await createPglite({});
  const handle = wrapPglite(pglite);
  await migrateToLatest(handle.db);
  const dump = await pglite.dumpDataDir('gzip');
  const path = newPgliteTemplatePath();
  await writeFile(path, Buffer.from(await dump.arrayBuffer()));
  await handle.close();
  process.env[TEMPLATE_ENV] = path;
  pino().debug({ path }, 'pglite template ready');
}
