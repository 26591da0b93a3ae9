import { Writable } from 'node:stream';
import type { Express } from 'express';
import pino from 'pino';
import { createApp, type AppDependencies } from '../../src/app';
import type { DatabaseHandle } from '../../src/dependencies/database';
import { loadConfig, type Config } from '../../src/internal/config';
import { REDACTED_PATHS } from '../../src/internal/logger';
import { createTestDatabase } from './test-database';

export interface TestApp {
  app: Express;
  config: Config;
  database: DatabaseHandle;
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', PGLITE_DATA_DIR: 'memory://', ...overrides });
}

/** The real app on a private database, with logs captured instead of printed. */
export async function createTestApp(
  options: { env?: Record<string, string>; handlerOverrides?: AppDependencies['handlerOverrides'] } = {},
): Promise<TestApp> {
  const config = testConfig(options.env);
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = pino({ level: 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
  const database = await createTestDatabase();
  const app = createApp({
    config,
    logger,
    db: database.db,
    ...(options.handlerOverrides ? { handlerOverrides: options.handlerOverrides } : {}),
  });
  return { app, config, database, logs, close: () => database.close() };
}
