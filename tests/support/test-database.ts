import { openAsBlob } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
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
  if (!databaseUrl) return lendPglite(template);
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

/*
 * PGlite: starting an instance from the template costs about a second of CPU (unpacking 40 MB of data
 * directory and booting PostgreSQL in WebAssembly); emptying its tables costs a few milliseconds. So a test
 * file keeps the instance a closed handle leaves behind and lends it to the file's next handle, emptied:
 * the same rows (none), identity counters and session state as a fresh copy of the template. Jest gives
 * every test file its own module registry, so these variables, and the instance, belong to one file; files
 * never share a database. A handle asked for while the spare is lent out (two handles open at once) gets an
 * instance of its own. An instance whose schema a test changed (a table, a trigger), or whose session is
 * gone, is closed instead of kept.
 */

/** What a handle that finds no spare starts from, and what a spare must still look like to be lent. */
interface TemplateFacts {
  /** A digest of every schema object and session-independent setting: unchanged means only rows differ. */
  shape: string;
  /** Every table holding rows a test may have written (the migration bookkeeping excepted). */
  tables: string[];
}

let templateFacts: Promise<TemplateFacts> | undefined;
let spare: PGlite | undefined;
let fileFinished = false;

// At the end of the file, the spare is closed; a handle closed after that (a file's own afterAll may run
// after this one) closes its instance instead of keeping it.
if (typeof afterAll === 'function') {
  afterAll(async () => {
    fileFinished = true;
    const instance = spare;
    spare = undefined;
    await instance?.close();
  });
}

async function lendPglite(template: string): Promise<DatabaseHandle> {
  let lent = spare;
  spare = undefined;
  if (!lent) {
    lent = await createPglite({ loadDataDir: await openAsBlob(template) });
    templateFacts ??= factsOf(lent);
    await templateFacts;
  }
  const pglite = lent;
  const handle = wrapPglite(pglite);
  let closed: Promise<void> | undefined;
  const keep = () => !fileFinished && !spare;
  return {
    db: handle.db,
    // The knex pool first (it waits for queries in flight), then the instance is emptied for the next
    // handle, or closed.
    close: () =>
      (closed ??= (async () => {
        await handle.db.destroy();
        if (keep() && (await emptied(pglite)) && keep()) spare = pglite;
        else await pglite.close();
      })()),
  };
}

const SHAPE_QUERY = `
  SELECT md5(string_agg(entry, E'\\n' ORDER BY entry)) AS shape FROM (
    SELECT format('schema %s', nspname) AS entry FROM pg_namespace
      WHERE nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%'
    UNION ALL
    SELECT format('relation %s.%s %s %s', n.nspname, c.relname, c.relkind, c.relrowsecurity)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
    UNION ALL
    SELECT format('column %s.%s %s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, a.attisdropped, pg_get_expr(d.adbin, d.adrelid))
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0
    UNION ALL
    SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('index %s', pg_get_indexdef(i.indexrelid))
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('trigger %s %s %s', tgrelid::regclass, tgname, tgenabled) FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p
      WHERE p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
    UNION ALL
    SELECT format('type %s', t.oid::regtype) FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('extension %s %s', extname, extversion) FROM pg_extension
    UNION ALL
    SELECT format('policy %s %s', polrelid::regclass, polname) FROM pg_policy
    UNION ALL
    SELECT format('rule %s %s', ev_class::regclass, rulename) FROM pg_rewrite r
      JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('setting %s %s %s', setdatabase, setrole, setconfig) FROM pg_db_role_setting
  ) AS everything`;

const TABLES_QUERY = `
  SELECT format('%I', tablename) AS name FROM pg_tables
    WHERE schemaname = 'public' AND tablename NOT IN ('knex_migrations', 'knex_migrations_lock')
    ORDER BY tablename`;

async function factsOf(pglite: PGlite): Promise<TemplateFacts> {
  const [{ rows: shape }, { rows: tables }] = [
    await pglite.query<{ shape: string }>(SHAPE_QUERY),
    await pglite.query<{ name: string }>(TABLES_QUERY),
  ];
  return { shape: shape[0]!.shape, tables: tables.map((row) => row.name) };
}

/** Back to the template's state, or false when that cannot be vouched for (the instance is then closed). */
async function emptied(pglite: PGlite): Promise<boolean> {
  if (pglite.closed || !templateFacts) return false;
  try {
    if (pglite.isInTransaction()) await pglite.exec('ROLLBACK');
    // Session settings, prepared statements, temporary tables, advisory locks, LISTENs.
    await pglite.exec('DISCARD ALL');
    const { shape, tables } = await templateFacts;
    const now = await pglite.query<{ shape: string }>(SHAPE_QUERY);
    if (now.rows[0]?.shape !== shape) return false;
    if (tables.length > 0) await pglite.exec(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
    return true;
  } catch {
    return false;
  }
}
