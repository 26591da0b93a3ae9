import type { Redis } from 'ioredis';
import { createApp } from './app';
import { openDatabase, type DatabaseHandle } from './infrastructure/database';
import { migrateToLatest } from './infrastructure/migrations';
import { loadSigningKeys } from './infrastructure/signing-keys';
import { ConfigError, loadConfig, type Config } from './internal/config';
import { createLifecycle } from './internal/lifecycle';
import { createLogger } from './internal/logger';
import type { Tracing } from './internal/tracing';
import { createMetrics } from './infrastructure/metrics';
import { startMetricsServer, type RunningMetricsServer } from './metrics-server';
import { startServer, type RunningServer } from './server';
import { createWebhookDelivery } from './webhooks/webhook-delivery';
import { loadWebhookSecretBox } from './webhooks/webhook-secrets';
import type { DeliveryWorker } from './webhooks/delivery-worker';
import { IdempotencyRepository } from './repositories/idempotency.repository';
import { createRecordRetention, type RecordRetention } from './services/record-retention';
import { createRequestLog, type RequestLog } from './dependencies/request-log';
import { EventsRepository } from './repositories/events.repository';
import { RequestLogsRepository } from './repositories/request-logs.repository';

/** What start-up has opened so far; a signal at any phase closes exactly that. */
interface Opened {
  database?: DatabaseHandle;
  redis?: Redis;
  running?: RunningServer;
  metricsServer?: RunningMetricsServer;
  deliveryWorker?: DeliveryWorker;
  retention?: RecordRetention;
  requestLog?: RequestLog;
}

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** Opens the database, migrates if configured, serves the API (and metrics), and drains on SIGTERM/SIGINT. */
export async function start(tracing: Tracing | undefined): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config);
  const lifecycle = createLifecycle();
  const opened: Opened = {};

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!opened.running) {
      // Nothing accepted a request yet; whatever start-up was doing is abandoned with the process.
      logger.info({ signal }, 'shutdown: during start-up, exiting');
      logger.flush();
      process.exit(0);
    }
    logger.info({ signal }, 'shutdown: draining in-flight requests and webhook deliveries');
    // Attempts under way finish and are recorded; claimed ones not yet started go back to the queue.
    void Promise.all([opened.running.stop(), opened.deliveryWorker?.stop(), opened.retention?.stop()])
      // The requests just drained are in the request log's buffer: written before the database closes.
      .then(() => opened.requestLog?.close())
      .then(() => Promise.all([opened.database?.close(), opened.redis?.quit(), opened.metricsServer?.stop()]))
      .then(() => tracing?.shutdown())
      .then(() => {
        logger.info('shutdown: complete');
        logger.flush();
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown: failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  // A start that hangs (a database that never answers, a locked data directory) fails loudly instead.
  const startupDeadline = setTimeout(() => {
    logger.fatal({ timeout_ms: config.http.startupTimeoutMs }, 'start-up: not ready in time, exiting');
    logger.flush();
    process.exit(1);
  }, config.http.startupTimeoutMs);

  logger.info({ driver: config.database.driver }, 'start-up: opening the database');
  opened.database = await openDatabase(config.database, logger);
  if (config.database.migrateOnStart) {
    const applied = await migrateToLatest(opened.database.db);
    logger.info({ applied }, `migrations: ${applied.length} applied`);
  }
  const signingKeys = loadSigningKeys(config.auth, logger);
  if (config.redisUrl) {
    // Loaded only when configured: ~25 ms of start-up that a single instance does not need.
    const { Redis } = await import('ioredis');
    opened.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
    opened.redis.on('error', (error) => logger.error({ err: error }, 'redis: connection error'));
  }
  const metrics = createMetrics();
  if (config.metrics) {
    opened.metricsServer = await startMetricsServer(metrics.registry, config.metrics, logger);
    logger.info({ url: opened.metricsServer.url }, `metrics at ${opened.metricsServer.url}`);
  }
  const webhookSecrets = loadWebhookSecretBox(config.webhooks, logger);
  const deliveryWorker = config.webhooks.worker
    ? createWebhookDelivery({
        config: config.webhooks,
        db: opened.database.db,
        logger,
        metrics,
        secrets: webhookSecrets,
      })
    : undefined;
  const database = opened.database;
  const requestLogs = new RequestLogsRepository({ db: database.db });
  opened.requestLog = createRequestLog({
    config: config.requestLog,
    insertMany: (entries) => requestLogs.insertMany(entries),
    logger,
  });
  const app = createApp({
    requestLog: opened.requestLog,
    config,
    logger,
    db: opened.database.db,
    signingKeys,
    redis: opened.redis,
    lifecycle,
    metrics,
    webhookSecrets,
    ...(deliveryWorker ? { onDeliveriesCommitted: () => deliveryWorker.nudge() } : {}),
  });
  const running = await startServer(app, config, logger, lifecycle);
  opened.running = running;
  if (deliveryWorker) {
    deliveryWorker.start();
    opened.deliveryWorker = deliveryWorker;
  }
  opened.retention = createRecordRetention({
    idempotency: new IdempotencyRepository({
      db: opened.database.db,
      abandonedAfterSeconds: config.idempotency.abandonedAfterSeconds,
    }),
    events: {
      repository: new EventsRepository({ db: database.db }),
      retentionDays: config.events.retentionDays,
    },
    requestLogs: { repository: requestLogs, retentionDays: config.requestLog.retentionDays },
    logger,
  });
  opened.retention.start();
  clearTimeout(startupDeadline);
  logger.info(
    { url: running.url, env: config.env },
    `listening on ${running.url} (docs at ${running.url}/docs)`,
  );
  if (tracing) logger.info('tracing: exporting spans over OTLP');
}
