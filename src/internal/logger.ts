import pino, { type Logger } from 'pino';
import { currentTraceIds } from '../utils/trace-context';
import type { Config } from './config';

/** Paths whose values never reach a log line, wherever they appear in a logged request or error. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.token',
];

export function createLogger(config: Pick<Config, 'log'>): Logger {
  const options = {
    level: config.log.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
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
  // Asynchronous writes: lines logged while a write is in flight go out together in the next one,
  // instead of one blocking write(2) per request on the event loop. No minLength: at idle a line
  // must still appear at once. pino flushes what is pending when the process exits (process.exit too).
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
