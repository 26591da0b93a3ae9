import { readFile } from 'node:fs/promises';
import type { Knex } from 'knex';
import {
  createPgKnex,
  createPglite,
  wrapPglite,
  type DatabaseHandle,
} from '../../src/infrastructure/database';
import { adminConnection, newDatabaseName, TEMPLATE_ENV, urlForDatabase } from './template-database';

export interface TestDatabaseOptions {
  /** PostgreSQL only: reach the server through this local port (a fault-injecting proxy) with these timeouts. */
  via?: {
    port: number;
    statementTimeoutMs: number;
    queryTimeoutMs: number;
    connectTimeoutMs: number;
    acquireTimeoutMs: number;
  };
}

/**
 * A private, migrated database for one test file: a PGlite copy of the template in memory, or a fresh
 * PostgreSQL database cloned from the template when DATABASE_URL is set.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<DatabaseHandle> {
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
  const url = new URL(urlForDatabase(databaseUrl, name));
  const { port, ...timeouts } = options.via ?? {};
  if (port !== undefined) {
    url.hostname = '127.0.0.1';
    url.port = String(port);
  }
  const db = testPool(url.toString(), timeouts);
  return {
    db,
    close: async () => {
      await db.destroy();
      await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      await admin.destroy();
    },
  };
}

/** A knex pool on a test database of the server, with the tests' timeouts unless told otherwise. */
export function testPool(
  url: string,
  timeouts: Partial<Omit<NonNullable<TestDatabaseOptions['via']>, 'port'>> = {},
): Knex {
  return createPgKnex({
    url,
    poolMin: 0,
    poolMax: 5,
    statementTimeoutMs: 5000,
    acquireTimeoutMs: 5000,
    connectTimeoutMs: 5000,
    queryTimeoutMs: 10000,
    ...timeouts,
  });
}
