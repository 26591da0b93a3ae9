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
  // Unset, these follow REQUEST_DEADLINE_MS (see loadConfig).
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).optional(),
  DB_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).optional(),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
  DB_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).optional(),
  DB_MIGRATE_ON_START: booleanFromEnv.optional(),

  JSON_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'a size such as 100kb or 1mb')
    .default('100kb'),
  CORS_ORIGINS: commaSeparatedList.default([]),
  VALIDATE_RESPONSES: booleanFromEnv.default(true),
  DOCS_HTML_PATH: z.string().default('build/docs/index.html'),

  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  // RFC 8414 metadata states the issuer as a URL; anything else would fail its own schema on every read.
  AUTH_ISSUER: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  AUTH_AUDIENCE: z.string().min(1).max(256).default('partner-api'),
  AUTH_JWT_PRIVATE_KEY: z.string().min(1).optional(),
  AUTH_JWT_PREVIOUS_PUBLIC_KEY: z.string().min(1).optional(),
  AUTH_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
  AUTH_REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .default(30 * 86_400),
  AUTH_EXTERNAL_ISSUER: z.string().min(1).max(2048).optional(),
  AUTH_EXTERNAL_JWKS_URI: z.url({ protocol: /^https?$/ }).optional(),
  AUTH_EXTERNAL_AUDIENCE: z.string().min(1).max(256).optional(),
  AUTH_EXTERNAL_ALGORITHMS: commaSeparatedList
    .pipe(z.array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'ES512'])).min(1))
    .default(['RS256', 'ES256']),
  AUTH_EXTERNAL_JWKS_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(3000),

  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60),
  RATE_LIMIT_AUTH_PER_IP: z.coerce.number().int().min(1).default(30),
  RATE_LIMIT_AUTH_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
  RATE_LIMIT_AUTH_ACCOUNT_FAILURES_PER_HOUR: z.coerce.number().int().min(1).default(50),
  RATE_LIMIT_TOKEN_GRANTS_PER_CLIENT: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_CALLER_USER: z.coerce.number().int().min(1).default(1200),
  RATE_LIMIT_CALLER_CLIENT: z.coerce.number().int().min(1).default(6000),
  RATE_LIMIT_CALLER_ANONYMOUS: z.coerce.number().int().min(1).default(300),

  IDEMPOTENCY_ABANDONED_AFTER_SECONDS: z.coerce.number().int().min(1).default(120),

  WEBHOOK_SECRETS_KEY: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, '32 random bytes in base64 (openssl rand -base64 32)')
    .optional(),
  WEBHOOK_ALLOW_LOOPBACK_HTTP: booleanFromEnv.default(false),
  WEBHOOK_WORKER: booleanFromEnv.default(true),
  WEBHOOK_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  WEBHOOK_DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(2),
  WEBHOOK_RETRY_PERIOD_SECONDS: z.coerce.number().int().min(60).default(259_200),
  WEBHOOK_DISABLE_AFTER_SECONDS: z.coerce.number().int().min(60).default(432_000),
  EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),

  REQUEST_LOG: booleanFromEnv.default(true),
  REQUEST_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  REQUEST_LOG_FLUSH_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  REQUEST_LOG_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(500),
  REQUEST_LOG_MAX_PER_CALLER_PER_DAY: z.coerce.number().int().min(1).default(10_000),

  // At most 10 minutes: Node's timers hold 24.8 days, and no request should come near either.
  REQUEST_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).default(30_000),
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).default(20_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(65_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).default(0),
  STARTUP_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),

  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('0.0.0.0'),
});

type Env = z.infer<typeof envSchema>;

/** Every variable the API reads; `.env.sample` must document each one. */
export const ENV_VARIABLES = Object.keys(envSchema.shape);

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
    /**
     * How long a request may take once it has been read: every wait for a pooled connection and every
     * statement it runs ends by then (src/infrastructure/deadline-client.ts), answered with a 503.
     */
    requestDeadlineMs: number;
    requestTimeoutMs: number;
    headersTimeoutMs: number;
    keepAliveTimeoutMs: number;
    shutdownTimeoutMs: number;
    shutdownDelayMs: number;
    startupTimeoutMs: number;
  }>;
  log: Readonly<{ level: Env['LOG_LEVEL']; pretty: boolean }>;
  database: Readonly<DatabaseConfig>;
  publicBaseUrl: string;
  auth: Readonly<AuthConfig>;
  redisUrl: string | undefined;
  rateLimit: Readonly<{
    windowSeconds: number;
    authPerIp: number;
    authPerAccount: number;
    /** Failed sign-ins per account and hour from addresses it never signed in from. */
    accountFailuresPerHour: number;
    tokenGrantsPerClient: number;
    /** Points per window (src/dependencies/caller-rate-limit.ts): each user, partner client, anonymous address. */
    callerPerUser: number;
    callerPerClient: number;
    callerPerAnonymousAddress: number;
  }>;
  idempotency: Readonly<{
    /**
     * An unfinished Idempotency-Key claim (only the previous release committed claims apart from their
     * write) older than this belongs to a process that died; a retry takes it over.
     */
    abandonedAfterSeconds: number;
  }>;
  webhooks: Readonly<WebhooksConfig>;
  /** How long `GET /v1/events` lists an event; the retention sweep deletes it (and its deliveries) after. */
  events: Readonly<{ retentionDays: number }>;
  requestLog: Readonly<RequestLogConfig>;
  docsHtmlPath: string;
  /** The Prometheus listener; absent unless METRICS_PORT is set. */
  metrics: Readonly<{ host: string; port: number }> | undefined;
}>;

export interface WebhooksConfig {
  /** Seals endpoint signing secrets at rest (32 bytes, base64); absent only outside production. */
  secretsKey: string | undefined;
  /** Lets endpoints use plain http to a loopback address: tests and local development only. */
  allowLoopbackHttp: boolean;
  /** Whether this process runs the delivery worker (every instance may; they share the queue). */
  worker: boolean;
  pollIntervalMs: number;
  deliveryTimeoutMs: number;
  /** Attempts in flight to one endpoint across every instance, so a slow receiver cannot hold every slot. */
  endpointConcurrency: number;
  retryPeriodSeconds: number;
  disableAfterSeconds: number;
}

/** The request log (src/dependencies/request-log.ts): buffered, written in batches, kept for a while. */
export interface RequestLogConfig {
  enabled: boolean;
  retentionDays: number;
  /** The longest an entry waits in memory before its batch is written (the most a crash can lose). */
  flushIntervalMs: number;
  /** A buffer this full is written at once. */
  batchSize: number;
  /** Entries kept per caller, UTC day and instance; beyond it they are counted and dropped. */
  maxPerCallerPerDay: number;
}

export type DatabaseConfig =
  | {
      driver: 'pg';
      url: string;
      poolMin: number;
      poolMax: number;
      statementTimeoutMs: number;
      acquireTimeoutMs: number;
      /** Client-side bounds, so a database that stops answering (even at the network level) fails fast. */
      connectTimeoutMs: number;
      queryTimeoutMs: number;
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

export interface AuthConfig {
  issuer: string;
  audience: string;
  /** PEM (PKCS#8) of the ES256 signing key; absent only in development and test, where one is generated. */
  privateKeyPem: string | undefined;
  /** PEM of the previous key's public half, still accepted and published during a rotation. */
  previousPublicKeyPem: string | undefined;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  external:
    | {
        issuer: string;
        jwksUri: string;
        audience: string;
        algorithms: readonly string[];
        jwksTimeoutMs: number;
      }
    | undefined;
}

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
  // No statement or wait for a connection is worth more time than a request has; the client waits a
  // second longer than the server, so the server's own timeout (an answer) comes first.
  const statementTimeoutMs = env.DB_STATEMENT_TIMEOUT_MS ?? env.REQUEST_DEADLINE_MS;
  const acquireTimeoutMs = env.DB_ACQUIRE_TIMEOUT_MS ?? env.REQUEST_DEADLINE_MS;
  const queryTimeoutMs = env.DB_QUERY_TIMEOUT_MS ?? statementTimeoutMs + 1000;
  const database: DatabaseConfig = env.DATABASE_URL
    ? {
        driver: 'pg',
        url: env.DATABASE_URL,
        poolMin: env.DB_POOL_MIN,
        poolMax: env.DB_POOL_MAX,
        statementTimeoutMs,
        acquireTimeoutMs,
        connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
        queryTimeoutMs,
        migrateOnStart,
      }
    : {
        driver: 'pglite',
        dataDir: env.PGLITE_DATA_DIR,
        statementTimeoutMs,
        acquireTimeoutMs,
        migrateOnStart,
      };
  const problems: string[] = [];
  if (queryTimeoutMs <= statementTimeoutMs) {
    problems.push(
      `DB_QUERY_TIMEOUT_MS: must exceed DB_STATEMENT_TIMEOUT_MS (${statementTimeoutMs}${
        env.DB_STATEMENT_TIMEOUT_MS === undefined ? ', from REQUEST_DEADLINE_MS' : ''
      }): the server cancels a slow statement first`,
    );
  }
  if (env.NODE_ENV === 'production') {
    if (database.driver === 'pglite') {
      problems.push('DATABASE_URL: required in production (the embedded database is for development)');
    }
    if (!env.AUTH_JWT_PRIVATE_KEY) problems.push('AUTH_JWT_PRIVATE_KEY: required in production');
    if (!env.WEBHOOK_SECRETS_KEY) problems.push('WEBHOOK_SECRETS_KEY: required in production');
    if (env.WEBHOOK_ALLOW_LOOPBACK_HTTP)
      problems.push('WEBHOOK_ALLOW_LOOPBACK_HTTP: only for tests and local development, never in production');
    if (!env.PUBLIC_BASE_URL)
      problems.push('PUBLIC_BASE_URL: required in production (it is the token issuer)');
  }
  const externalVariables = [
    env.AUTH_EXTERNAL_ISSUER,
    env.AUTH_EXTERNAL_JWKS_URI,
    env.AUTH_EXTERNAL_AUDIENCE,
  ];
  if (externalVariables.some(Boolean) && !externalVariables.every(Boolean)) {
    problems.push(
      'AUTH_EXTERNAL_ISSUER, AUTH_EXTERNAL_JWKS_URI, AUTH_EXTERNAL_AUDIENCE: set all three or none',
    );
  }
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
    problems.push('METRICS_PORT: must differ from PORT (metrics are never served on the API port)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const publicBaseUrl = (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '');

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
      requestDeadlineMs: env.REQUEST_DEADLINE_MS,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      shutdownDelayMs: env.SHUTDOWN_DELAY_MS,
      startupTimeoutMs: env.STARTUP_TIMEOUT_MS,
    },
    log: { level: env.LOG_LEVEL, pretty: env.LOG_PRETTY ?? isDevelopment },
    database,
    docsHtmlPath: env.DOCS_HTML_PATH,
    metrics: env.METRICS_PORT === undefined ? undefined : { host: env.METRICS_HOST, port: env.METRICS_PORT },
    publicBaseUrl,
    auth: {
      issuer: env.AUTH_ISSUER ?? publicBaseUrl,
      audience: env.AUTH_AUDIENCE,
      privateKeyPem: unescapeNewlines(env.AUTH_JWT_PRIVATE_KEY),
      previousPublicKeyPem: unescapeNewlines(env.AUTH_JWT_PREVIOUS_PUBLIC_KEY),
      accessTokenTtlSeconds: env.AUTH_ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: env.AUTH_REFRESH_TOKEN_TTL_SECONDS,
      external:
        env.AUTH_EXTERNAL_ISSUER && env.AUTH_EXTERNAL_JWKS_URI && env.AUTH_EXTERNAL_AUDIENCE
          ? {
              issuer: env.AUTH_EXTERNAL_ISSUER,
              jwksUri: env.AUTH_EXTERNAL_JWKS_URI,
              audience: env.AUTH_EXTERNAL_AUDIENCE,
              algorithms: env.AUTH_EXTERNAL_ALGORITHMS,
              jwksTimeoutMs: env.AUTH_EXTERNAL_JWKS_TIMEOUT_MS,
            }
          : undefined,
    },
    redisUrl: env.REDIS_URL,
    rateLimit: {
      windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
      authPerIp: env.RATE_LIMIT_AUTH_PER_IP,
      authPerAccount: env.RATE_LIMIT_AUTH_PER_ACCOUNT,
      accountFailuresPerHour: env.RATE_LIMIT_AUTH_ACCOUNT_FAILURES_PER_HOUR,
      tokenGrantsPerClient: env.RATE_LIMIT_TOKEN_GRANTS_PER_CLIENT,
      callerPerUser: env.RATE_LIMIT_CALLER_USER,
      callerPerClient: env.RATE_LIMIT_CALLER_CLIENT,
      callerPerAnonymousAddress: env.RATE_LIMIT_CALLER_ANONYMOUS,
    },
    idempotency: { abandonedAfterSeconds: env.IDEMPOTENCY_ABANDONED_AFTER_SECONDS },
    webhooks: {
      secretsKey: env.WEBHOOK_SECRETS_KEY,
      allowLoopbackHttp: env.WEBHOOK_ALLOW_LOOPBACK_HTTP,
      worker: env.WEBHOOK_WORKER,
      pollIntervalMs: env.WEBHOOK_POLL_INTERVAL_MS,
      deliveryTimeoutMs: env.WEBHOOK_DELIVERY_TIMEOUT_MS,
      endpointConcurrency: env.WEBHOOK_ENDPOINT_CONCURRENCY,
      retryPeriodSeconds: env.WEBHOOK_RETRY_PERIOD_SECONDS,
      disableAfterSeconds: env.WEBHOOK_DISABLE_AFTER_SECONDS,
    },
    events: { retentionDays: env.EVENTS_RETENTION_DAYS },
    requestLog: {
      enabled: env.REQUEST_LOG,
      retentionDays: env.REQUEST_LOG_RETENTION_DAYS,
      flushIntervalMs: env.REQUEST_LOG_FLUSH_INTERVAL_MS,
      batchSize: env.REQUEST_LOG_BATCH_SIZE,
      maxPerCallerPerDay: env.REQUEST_LOG_MAX_PER_CALLER_PER_DAY,
    },
  });
}

/** PEM keys often arrive through environments that cannot hold newlines, written as a literal backslash-n. */
function unescapeNewlines(value: string | undefined): string | undefined {
  return value?.replace(/\\n/g, '\n');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const nested of Object.values(value)) deepFreeze(nested);
    Object.freeze(value);
  }
  return value;
}
