import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import pino, { type Logger } from 'pino';
import { createApp, type AppDependencies } from '../../src/app';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { createMetrics } from '../../src/infrastructure/metrics';
import { createRequestLog, type RequestLog } from '../../src/dependencies/request-log';
import { RequestLogsRepository } from '../../src/repositories/request-logs.repository';
import { createWebhookDelivery } from '../../src/webhooks/webhook-delivery';
import { loadWebhookSecretBox } from '../../src/webhooks/webhook-secrets';
import { loadSigningKeys, type SigningKeys } from '../../src/infrastructure/signing-keys';
import { loadConfig, type Config } from '../../src/internal/config';
import { logRedaction } from '../../src/internal/logger';
import { createTestDatabase, type TestDatabaseOptions } from './test-database';

export interface TestApp {
  app: Express;
  config: Config;
  database: DatabaseHandle;
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  signingKeys: SigningKeys;
  /** The app's request log: `flush()` writes what it buffered, so a test can read it back. */
  requestLog: RequestLog;
  close(): Promise<void>;
}

/** One ES256 key per test file, handed to the app through the environment like in production. */
export const TEST_SIGNING_KEY_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();

export const TEST_BASE_URL = 'http://api.test';

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    PGLITE_DATA_DIR: 'memory://',
    PUBLIC_BASE_URL: TEST_BASE_URL,
    AUTH_JWT_PRIVATE_KEY: TEST_SIGNING_KEY_PEM,
    // Most tests log in many times from one address; the throttling tests set their own limits.
    RATE_LIMIT_AUTH_PER_IP: '10000',
    RATE_LIMIT_AUTH_PER_ACCOUNT: '10000',
    RATE_LIMIT_CALLER_USER: '1000000',
    RATE_LIMIT_CALLER_CLIENT: '1000000',
    RATE_LIMIT_CALLER_ANONYMOUS: '1000000',
    ...overrides,
  });
}

/** A logger with the app's redaction whose lines are parsed into `logs` instead of printed. */
export function captureLogs(): { logger: Logger; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return {
    logger: pino({ level: 'info', ...logRedaction }, sink),
    logs,
  };
}

/**
 * The real app on a private database, with logs captured instead of printed. With `webhookDelivery`, the
 * delivery worker runs beside it as src/start.ts wires it (one secret box for both, nudged after each
 * commit that enqueued deliveries) and is stopped by `close()` before the database; without it,
 * `onDeliveriesCommitted` is told instead.
 */
export async function createTestApp(
  options: {
    env?: Record<string, string>;
    handlerOverrides?: AppDependencies['handlerOverrides'];
    metrics?: AppDependencies['metrics'];
    database?: TestDatabaseOptions;
    webhookDelivery?: boolean;
    onDeliveriesCommitted?: () => void;
  } = {},
): Promise<TestApp> {
  const config = testConfig(options.env);
  const { logger, logs } = captureLogs();
  const database = await createTestDatabase(options.database);
  const signingKeys = loadSigningKeys(config.auth, logger);
  const metrics = options.metrics ?? createMetrics();
  const webhookSecrets = loadWebhookSecretBox(config.webhooks, logger);
  const deliveryWorker = options.webhookDelivery
    ? createWebhookDelivery({
        config: config.webhooks,
        db: database.db,
        logger,
        metrics,
        secrets: webhookSecrets,
      })
    : undefined;
  const onDeliveriesCommitted = deliveryWorker ? () => deliveryWorker.nudge() : options.onDeliveriesCommitted;
  const requestLogs = new RequestLogsRepository({ db: database.db });
  const requestLog = createRequestLog({
    config: config.requestLog,
    insertMany: (entries) => requestLogs.insertMany(entries),
    logger,
  });
  const app = createApp({
    requestLog,
    config,
    logger,
    db: database.db,
    signingKeys,
    metrics,
    webhookSecrets,
    ...(options.handlerOverrides ? { handlerOverrides: options.handlerOverrides } : {}),
    ...(onDeliveriesCommitted ? { onDeliveriesCommitted } : {}),
  });
  deliveryWorker?.start();
  const close = async () => {
    await deliveryWorker?.stop();
    await requestLog.close();
    await database.close();
  };
  return { app, config, database, logs, signingKeys, requestLog, close };
}

/** How many audit rows record `action` on the resource `resourceId`. */
export async function countAuditEvents(t: TestApp, resourceId: string, action: string): Promise<number> {
  const [row] = await t.database
    .db('audit_events')
    .where({ resource_id: resourceId, action })
    .count<[{ count: string }]>('* as count');
  return Number(row!.count);
}
