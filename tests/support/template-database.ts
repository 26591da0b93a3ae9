import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import knex, { type Knex } from 'knex';

/**
 * Where globalSetup leaves the migrated template each test file copies: a PGlite data-dir dump, or a
 * PostgreSQL database to use as CREATE DATABASE ... TEMPLATE.
 */
export const TEMPLATE_ENV = 'TEST_DATABASE_TEMPLATE';

/** Uncompressed: every test file unpacks it, and gunzip was a quarter of PGlite's start from it. */
export function newPgliteTemplatePath(): string {
  return join(tmpdir(), `partner-api-template-${process.pid}-${randomBytes(4).toString('hex')}.tar`);
}

export function newDatabaseName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/**
 * Unpacks the PGlite template (a plain tar of a data directory: directories and files only) into the empty
 * directory `into`, which a process can then open as its PGLITE_DATA_DIR: migrated already, without the
 * seconds of CPU initdb costs on a directory. A run on a PostgreSQL server has no PGlite template: the
 * directory stays empty and the process initialises it itself.
 */
export async function unpackPgliteTemplate(into: string): Promise<void> {
  const template = process.env[TEMPLATE_ENV];
  if (process.env.DATABASE_URL) return;
  if (!template) throw new Error(`${TEMPLATE_ENV} is not set: run the tests through jest's globalSetup`);
  const tar = await readFile(template);
  const field = (header: Buffer, from: number, length: number) =>
    header.toString('latin1', from, from + length).replace(/\0[^]*$/, '');
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    const name = [field(header, 345, 155), field(header, 0, 100)].filter(Boolean).join('/');
    if (!name) break; // the two empty blocks that end the archive
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const mode = parseInt(field(header, 100, 8).trim() || '600', 8);
    const path = join(into, name);
    if (relative(into, path).startsWith('..'))
      throw new Error(`template entry outside the directory: ${name}`);
    const type = field(header, 156, 1) || '0';
    if (type === '5') await mkdir(path, { recursive: true, mode });
    else if (type === '0') {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, tar.subarray(at + 512, at + 512 + size), { mode });
    } else throw new Error(`template entry ${name} of tar type ${type}: only directories and files expected`);
    at += 512 + Math.ceil(size / 512) * 512;
  }
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
