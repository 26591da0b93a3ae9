import pino, { type Logger, type LoggerOptions } from 'pino';
import { currentTraceIds } from '../utils/trace-context';
import type { Config } from './config';

/** Keys whose values never reach a log line, at the top of a logged object or one level down. */
const SECRET_KEYS = new Set([
  'authorization',
  'cookie',
  'proxy-authorization',
  'x-api-key',
  'set-cookie',
  'password',
  'new_password',
  'current_password',
  'client_secret',
  'access_token',
  'refresh_token',
  'token',
]);
const CENSOR = '[redacted]';
const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 250;

function censorKeys(value: Record<string, unknown>): Record<string, unknown> {
  let censored: Record<string, unknown> | undefined;
  for (const key in value) {
    if (SECRET_KEYS.has(key.toLowerCase())) {
      censored ??= { ...value };
      censored[key] = CENSOR;
    }
  }
  return censored ?? value;
}

/** Object literals and parsed JSON; not requests, responses or errors, which their serializers reduce. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/**
 * Censors secrets in what a line logs: a secret key at the top, or inside a top-level object (headers,
 * a body); errors are censored by their serializer (`logRedaction`). Done here rather than with pino's
 * `redact` paths: its wildcard paths are parsed again for every field of every line, ~6% of a request's
 * CPU (profiled under GET /v1/users/me load).
 */
export function redactSecrets(line: Record<string, unknown>): Record<string, unknown> {
  let redacted: Record<string, unknown> | undefined;
  for (const key in line) {
    const value = line[key];
    const replacement = SECRET_KEYS.has(key.toLowerCase())
      ? CENSOR
      : isPlainObject(value)
        ? censorKeys(value)
        : value;
    if (replacement !== value) {
      redacted ??= { ...line };
      redacted[key] = replacement;
    }
  }
  return redacted ?? line;
}

/**
 * pino options that keep secrets out of logged objects and errors. Child loggers' bindings are not
 * censored (pino gives children no bindings formatter): bind ids and names, never a request's data.
 */
export const logRedaction = {
  formatters: { log: redactSecrets },
  serializers: {
    err: (error: Error) => censorKeys(pino.stdSerializers.err(error)),
  },
} satisfies Pick<LoggerOptions, 'formatters' | 'serializers'>;

export function createLogger(config: Pick<Config, 'log'>): Logger {
  const options = {
    level: config.log.level,
    ...logRedaction,
    // Every line written while a request is traced carries its trace and span ids.
    mixin: () => currentTraceIds() ?? {},
  };
  if (config.log.pretty) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  // Asynchronous, batched writes: lines wait until 4 KB (about twenty access-log lines) or 250 ms have
  // gathered, then go out in one write(2); a write per line was ~4% of a request's CPU under load. What is
  // pending is written when the process exits (process.exit and uncaught errors too); SIGKILL loses it.
  return pino(
    options,
    pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
}
