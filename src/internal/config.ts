import { z } from 'zod';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const commaSeparatedList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: booleanFromEnv.optional(),
  TRUST_PROXY: z.string().default('false'),

  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  PGLITE_DATA_DIR: z.string().default('.data/pglite'),
  DB_POOL_MIN: z.coerce.number().int().min(0).default(0),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  DB_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  DB_MIGRATE_ON_START: booleanFromEnv.optional(),

  JSON_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'a size such as 100kb or 1mb')
    .default('100kb'),
  CORS_ORIGINS: commaSeparatedList.default([]),
  VALIDATE_RESPONSES: booleanFromEnv.default(true),
  DOCS_HTML_PATH: z.string().default('build/docs/index.html'),

  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).default(30_000),
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).default(20_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(65_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
});

type Env = z.infer<typeof envSchema>;

export type Config = Readonly<{
  env: Env['NODE_ENV'];
  isProduction: boolean;
  isDevelopment: boolean;
  http: Readonly<{
    host: string;
    port: number;
    trustProxy: boolean | number | string;
    jsonBodyLimit: string;
    corsOrigins: readonly string[];
    validateResponses: boolean;
    requestTimeoutMs: number;
    headersTimeoutMs: number;
    keepAliveTimeoutMs: number;
    shutdownTimeoutMs: number;
  }>;
  log: Readonly<{ level: Env['LOG_LEVEL']; pretty: boolean }>;
  database: Readonly<DatabaseConfig>;
  docsHtmlPath: string;
}>;

export type DatabaseConfig =
  | {
      driver: 'pg';
      url: string;
      poolMin: number;
      poolMax: number;
      statementTimeoutMs: number;
      acquireTimeoutMs: number;
      migrateOnStart: boolean;
    }
  | {
      driver: 'pglite';
      /** A directory, or `memory://` for a database that lives only as long as the process. */
      dataDir: string;
      statementTimeoutMs: number;
      acquireTimeoutMs: number;
      migrateOnStart: boolean;
    };

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function parseTrustProxy(value: string): boolean | number | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

/** Parses the environment once into a frozen, typed object; throws a ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  const env = parsed.data;
  const isDevelopment = env.NODE_ENV === 'development';
  const migrateOnStart = env.DB_MIGRATE_ON_START ?? env.NODE_ENV !== 'production';
  const database: DatabaseConfig = env.DATABASE_URL
    ? {
        driver: 'pg',
        url: env.DATABASE_URL,
        poolMin: env.DB_POOL_MIN,
        poolMax: env.DB_POOL_MAX,
        statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
        acquireTimeoutMs: env.DB_ACQUIRE_TIMEOUT_MS,
        migrateOnStart,
      }
    : {
        driver: 'pglite',
        dataDir: env.PGLITE_DATA_DIR,
        statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
        acquireTimeoutMs: env.DB_ACQUIRE_TIMEOUT_MS,
        migrateOnStart,
      };
  if (env.NODE_ENV === 'production' && database.driver === 'pglite') {
    throw new ConfigError([
      'DATABASE_URL: required in production (the embedded database is for development)',
    ]);
  }

  return deepFreeze({
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    isDevelopment,
    http: {
      host: env.HOST,
      port: env.PORT,
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      jsonBodyLimit: env.JSON_BODY_LIMIT,
      corsOrigins: env.CORS_ORIGINS,
      validateResponses: env.VALIDATE_RESPONSES,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    },
    log: { level: env.LOG_LEVEL, pretty: env.LOG_PRETTY ?? isDevelopment },
    database,
    docsHtmlPath: env.DOCS_HTML_PATH,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const nested of Object.values(value)) deepFreeze(nested);
    Object.freeze(value);
  }
  return value;
}
