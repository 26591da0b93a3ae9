import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { createApp, type AppDependencies } from '../../src/app';
import { openDatabase, type DatabaseHandle } from '../../src/infrastructure/database';
import { migrateToLatest } from '../../src/infrastructure/migrations';
import { loadSigningKeys } from '../../src/infrastructure/signing-keys';
import { loadConfig, type Config } from '../../src/internal/config';

export interface BenchApp {
  base: string;
  config: Config;
  database: DatabaseHandle;
  stop(): Promise<void>;
}

/**
 * The real app on loopback for a benchmark: in-memory PGlite unless DATABASE_URL is set (then it
 * migrates and writes to that database), silent logs, rate limits out of the way.
 */
export async function startBenchApp(
  beforeListen?: (database: DatabaseHandle) => Promise<void>,
  overrides: Pick<AppDependencies, 'versions'> = {},
): Promise<BenchApp> {
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    PGLITE_DATA_DIR: 'memory://',
    RATE_LIMIT_AUTH_PER_IP: '1000000',
    RATE_LIMIT_AUTH_PER_ACCOUNT: '1000000',
    RATE_LIMIT_CALLER_USER: '1000000000',
    RATE_LIMIT_CALLER_CLIENT: '1000000000',
    RATE_LIMIT_CALLER_ANONYMOUS: '1000000000',
  });
  const logger = pino({ level: 'silent' });
  const database = await openDatabase(config.database, logger);
  await migrateToLatest(database.db);
  await beforeListen?.(database);
  const app = createApp({
    config,
    logger,
    db: database.db,
    signingKeys: loadSigningKeys(config.auth, logger),
    ...overrides,
  });
  const server: Server = createServer(app).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    config,
    database,
    stop: async () => {
      await new Promise((resolve) => server.close(resolve));
      await database.close();
    },
  };
}

/** A password grant; returns the access token. */
export async function signIn(base: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${base}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: email, password }),
  });
  if (res.status !== 200) throw new Error(`login answered ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
