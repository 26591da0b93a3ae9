import { Redis } from 'ioredis';
import { createApp } from './app';
import { openDatabase } from './dependencies/database';
import { migrateToLatest } from './dependencies/migrations';
import { loadSigningKeys } from './dependencies/signing-keys';
import { ConfigError, loadConfig } from './internal/config';
import { createLogger } from './internal/logger';
import { startServer } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config);
  const database = await openDatabase(config.database, logger);
  if (config.database.migrateOnStart) {
    const applied = await migrateToLatest(database.db);
    logger.info({ applied }, `migrations: ${applied.length} applied`);
  }
  const signingKeys = loadSigningKeys(config.auth, logger);
  const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 2 }) : undefined;
  redis?.on('error', (error) => logger.error({ err: error }, 'redis: connection error'));
  const app = createApp({ config, logger, db: database.db, signingKeys, redis });
  const running = await startServer(app, config, logger);
  logger.info(
    { url: running.url, env: config.env },
    `listening on ${running.url} (docs at ${running.url}/docs)`,
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutdown: draining in-flight requests');
    void running
      .stop()
      .then(() => Promise.all([database.close(), redis?.quit()]))
      .then(() => {
        logger.info('shutdown: complete');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown: failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
