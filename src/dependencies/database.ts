import { mkdir } from 'node:fs/promises';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { citext } from '@electric-sql/pglite/contrib/citext';
import knex, { type Knex } from 'knex';
import { types as pgTypes } from 'pg';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../internal/config';
import { createPgliteKnexClient } from './pglite-client';

export type Database = Knex;

export interface DatabaseHandle {
  db: Database;
  close(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

// Counts and bigint ids come back as numbers from both drivers (pg would give strings, PGlite BigInt).
const parseInt8 = (value: string): number => Number(value);

const pgTypeParsers = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    if (oid === INT8_OID) return parseInt8;
    return pgTypes.getTypeParser(oid, format as 'text') as (value: string) => unknown;
  },
};

export const PGLITE_EXTENSIONS = { citext };

export async function openDatabase(config: DatabaseConfig, logger: Logger): Promise<DatabaseHandle> {
  if (config.driver === 'pg') {
    const db = createPgKnex(config);
    logger.info({ driver: 'pg', poolMax: config.poolMax }, 'database: PostgreSQL server');
    return { db, close: () => db.destroy() };
  }

  const inMemory = config.dataDir === 'memory://' || config.dataDir === '';
  if (!inMemory) await mkdir(config.dataDir, { recursive: true });
  const pglite = await createPglite(inMemory ? {} : { dataDir: config.dataDir });
  logger.info(
    { driver: 'pglite', dataDir: inMemory ? 'memory://' : config.dataDir },
    'database: embedded PGlite (set DATABASE_URL to use a PostgreSQL server)',
  );
  return wrapPglite(pglite, config.acquireTimeoutMs);
}

export function createPgKnex(
  config: Pick<
    Extract<DatabaseConfig, { driver: 'pg' }>,
    'url' | 'poolMin' | 'poolMax' | 'statementTimeoutMs' | 'acquireTimeoutMs'
  >,
): Database {
  return knex({
    client: 'pg',
    connection: {
      connectionString: config.url,
      statement_timeout: config.statementTimeoutMs,
      application_name: 'partner-api',
      types: pgTypeParsers,
    },
    pool: { min: config.poolMin, max: config.poolMax },
    acquireConnectionTimeout: config.acquireTimeoutMs,
  });
}

/** Opens PGlite with the extensions and type parsers the migrations and repositories rely on. */
export async function createPglite(options: { dataDir?: string; loadDataDir?: Blob }): Promise<PGlite> {
  return PGlite.create({
    ...options,
    extensions: PGLITE_EXTENSIONS,
    parsers: { [INT8_OID]: parseInt8, [NUMERIC_OID]: (value: string) => value },
    // PGlite otherwise keeps a 10 s startup-progress timer alive after close(), which holds the process open.
    ...(options.dataDir ? {} : { postgresqlconf: ['log_startup_progress_interval = 0'] }),
  } satisfies PGliteOptions);
}

export function wrapPglite(pglite: PGlite, acquireTimeoutMs = 5000): DatabaseHandle {
  const db = knex({
    client: createPgliteKnexClient(pglite) as unknown as typeof Knex.Client,
    connection: {},
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: acquireTimeoutMs,
  });
  return {
    db,
    close: async () => {
      await db.destroy();
      await pglite.close();
    },
  };
}
