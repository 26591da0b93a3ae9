import { mkdir } from 'node:fs/promises';
import type * as PgliteModule from '@electric-sql/pglite';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import type * as CitextModule from '@electric-sql/pglite/contrib/citext';
import knex, { type Knex } from 'knex';
import { types as pgTypes } from 'pg';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../internal/config';
import { lockDataDir } from './data-dir-lock';
import { withDeadlines } from './deadline-client';
import { createPgliteKnexClient } from './pglite-client';
import { createPreparingPgClient } from './prepared-statements';

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

export async function openDatabase(config: DatabaseConfig, logger: Logger): Promise<DatabaseHandle> {
  if (config.driver === 'pg') {
    const db = createPgKnex(config);
    logger.info({ driver: 'pg', poolMax: config.poolMax }, 'database: PostgreSQL server');
    return { db, close: () => db.destroy() };
  }

  const inMemory = config.dataDir === 'memory://' || config.dataDir === '';
  if (inMemory) {
    logger.info({ driver: 'pglite', dataDir: 'memory://' }, 'database: embedded PGlite in memory');
    return wrapPglite(await createPglite({}), config.acquireTimeoutMs);
  }
  await mkdir(config.dataDir, { recursive: true });
  const unlock = await lockDataDir(config.dataDir);
  try {
    const pglite = await createPglite({ dataDir: config.dataDir });
    logger.info(
      { driver: 'pglite', dataDir: config.dataDir },
      'database: embedded PGlite (set DATABASE_URL to use a PostgreSQL server)',
    );
    const handle = wrapPglite(pglite, config.acquireTimeoutMs);
    return { db: handle.db, close: () => handle.close().finally(unlock) };
  } catch (error) {
    await unlock();
    throw error;
  }
}

export function createPgKnex(
  config: Pick<
    Extract<DatabaseConfig, { driver: 'pg' }>,
    | 'url'
    | 'poolMin'
    | 'poolMax'
    | 'statementTimeoutMs'
    | 'acquireTimeoutMs'
    | 'connectTimeoutMs'
    | 'queryTimeoutMs'
  >,
): Database {
  return knex({
    // Bounded by the deadline of the request each statement runs for (deadline-client.ts).
    client: withDeadlines(createPreparingPgClient(), 'server') as unknown as typeof Knex.Client,
    connection: {
      connectionString: config.url,
      // Every statement's server-side bound; a request's transaction sets a shorter one from its deadline.
      statement_timeout: config.statementTimeoutMs,
      // statement_timeout needs a server that answers; these also hold when packets vanish. Within a
      // request, a statement waits at most until the request's deadline when that comes sooner.
      query_timeout: config.queryTimeoutMs,
      connectionTimeoutMillis: config.connectTimeoutMs,
      keepAlive: true,
      application_name: 'partner-api',
      types: pgTypeParsers,
    },
    pool: {
      min: config.poolMin,
      max: config.poolMax,
      // A connection whose query timed out on the client still has that query on the wire (and, after a
      // network fault, a desynchronised stream); knex would hand it out again, so the pool drops it (the
      // deadline client closes it at once as well).
      validate: (connection: { readyForQuery?: boolean }) => connection.readyForQuery === true,
    },
    acquireConnectionTimeout: config.acquireTimeoutMs,
  });
}

/**
 * Opens PGlite with the extensions and type parsers the migrations and repositories rely on. Loaded here
 * rather than at the top: a process on a PostgreSQL server never needs it (~25 ms of start-up).
 */
export async function createPglite(options: { dataDir?: string; loadDataDir?: Blob }): Promise<PGlite> {
  // require, not import(): the same CommonJS build (and type declarations) the rest of the code uses.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PGlite } = require('@electric-sql/pglite') as typeof PgliteModule;
  const { citext } = require('@electric-sql/pglite/contrib/citext') as typeof CitextModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return PGlite.create({
    ...options,
    extensions: { citext },
    parsers: { [INT8_OID]: parseInt8, [NUMERIC_OID]: (value: string) => value },
    // PGlite otherwise keeps a 10 s startup-progress timer alive after close(), which holds the process open.
    ...(options.dataDir ? {} : { postgresqlconf: ['log_startup_progress_interval = 0'] }),
    // PostgreSQL's default 128 MB of shared buffers is WebAssembly memory PGlite never gives back: ~140 MB
    // of resident memory for an embedded development database that fits in a fraction of 16 MB.
    startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'],
  } satisfies PGliteOptions);
}

export function wrapPglite(pglite: PGlite, acquireTimeoutMs = 5000): DatabaseHandle {
  const db = knex({
    client: withDeadlines(createPgliteKnexClient(pglite), 'embedded') as unknown as typeof Knex.Client,
    // PGlite has the one database; naming it lets query spans say `select postgres.items` like on a server.
    connection: { database: 'postgres' },
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
