import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex, { type Knex } from 'knex';

/**
 * Where globalSetup leaves the migrated template each test file copies: a PGlite data-dir dump, or a
 * PostgreSQL database to use as CREATE DATABASE ... TEMPLATE.
 */
export const TEMPLATE_ENV = 'TEST_DATABASE_TEMPLATE';

export function newPgliteTemplatePath(): string {
  return join(tmpdir(), `partner-api-template-${process.pid}-${randomBytes(4).toString('hex')}.tar.gz`);
}

export function newDatabaseName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** A connection to the server's maintenance database, for CREATE/DROP DATABASE. */
export function adminConnection(databaseUrl: string): Knex {
  const url = new URL(databaseUrl);
  return knex({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 1 } });
}

export function urlForDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
