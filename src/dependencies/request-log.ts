import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { RequestLogConfig } from '../internal/config';
import type { NewRequestLogEntry, RequestLogEntry, RequestLogFieldRef } from '../models/request-log';
import { requestIdOf } from './request-id';

/** What the error handler leaves in `res.locals` for the request log: the fields a problem named. */
export const PROBLEM_FIELDS_LOCAL = 'problemFields';
export const MAX_LOGGED_FIELDS = 20;

const API_VERSION = /^[A-Za-z0-9._-]{1,40}$/;
const ADDRESS = /^[0-9A-Fa-f.:]{1,64}$/;
const METHODS = new Set<string>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export interface RequestLog {
  /** Records each request once its response has finished; mount it before everything that answers. */
  readonly middleware: RequestHandler;
  /** Writes what is buffered now; resolves once written (or dropped, if the database refused it). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left: graceful shutdown, before the database closes. */
  close(): Promise<void>;
}

/**
 * The request log's writer. An entry is built when the response has finished (the answer has left: nothing
 * here delays it), kept in memory, and written with others in one multi-row INSERT, at the latest
 * `flushIntervalMs` after the first of them or at once when `batchSize` are waiting. A crash loses what is
 * buffered (at most one interval); a failed write is logged and dropped rather than retried, so a database
 * outage cannot grow the buffer, which is bounded besides at ten batches. Storage is bounded per caller:
 * at most `maxPerCallerPerDay` entries per caller, UTC day and instance are kept, the rest counted as
 * dropped; the retention sweep deletes entries older than the retention.
 */
export function createRequestLog(deps: {
  config: RequestLogConfig;
  insertMany: (entries: readonly NewRequestLogEntry[]) => Promise<void>;
  logger: Logger;
  now?: () => Date;
}): RequestLog {
  const { config, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const maxBuffered = config.batchSize * 10;
  let buffer: NewRequestLogEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let dropped = 0;
  let day = '';
  let perCaller = new Map<string, number>();

  const withinCap = (callerId: string, at: Date): boolean => {
    const today = at.toISOString().slice(0, 10);
    if (today !== day) {
      day = today;
      perCaller = new Map();
    }
    const count = perCaller.get(callerId) ?? 0;
    if (count >= config.maxPerCallerPerDay) return false;
    perCaller.set(callerId, count + 1);
    return true;
  };

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0) return writing;
    const batch = buffer;
    buffer = [];
    const lost = dropped;
    dropped = 0;
    // One write at a time, in order: a batch never overtakes the one before it.
    writing = writing.then(async () => {
      try {
        await deps.insertMany(batch);
        if (lost > 0)
          logger.warn({ dropped: lost }, 'request log: entries dropped (per-caller cap or full buffer)');
      } catch (error) {
        logger.warn({ err: error, lost: batch.length + lost }, 'request log: batch not written, dropped');
      }
    });
    return writing;
  };

  const add = (entry: NewRequestLogEntry) => {
    if (buffer.length >= maxBuffered) {
      dropped += 1;
      return;
    }
    buffer.push(entry);
    if (buffer.length >= config.batchSize) {
      void flush();
    } else if (!timer) {
      timer = setTimeout(() => void flush(), config.flushIntervalMs);
      timer.unref();
    }
  };

  const record = (req: Request, res: Response, startedAt: number) => {
    const principal = req.principal;
    const openapi = (req as { openapi?: { openApiRoute?: string; schema?: { operationId?: string } } })
      .openapi;
    const operationId = openapi?.schema?.operationId;
    // A request refused before its caller was known is no one's to see.
    if (!principal || !operationId || !METHODS.has(req.method)) return;
    const at = now();
    if (!withinCap(principal.id, at)) {
      dropped += 1;
      return;
    }
    add(toEntry(req, res, { at, startedAt, principal, operationId, route: openapi.openApiRoute }));
  };

  return {
    middleware: (req, res, next) => {
      if (!config.enabled) {
        next();
        return;
      }
      const startedAt = performance.now();
      res.once('finish', () => record(req, res, startedAt));
      next();
    },
    flush,
    async close() {
      await flush();
    },
  };
}

function toEntry(
  req: Request,
  res: Response,
  known: {
    at: Date;
    startedAt: number;
    principal: NonNullable<Request['principal']>;
    operationId: string;
    route: string | undefined;
  },
): NewRequestLogEntry {
  const key = req.get('Idempotency-Key');
  const version = res.getHeader('Api-Version');
  const address = req.ip;
  const fields = res.locals[PROBLEM_FIELDS_LOCAL] as RequestLogFieldRef[] | undefined;
  const problemType = res.locals.problemType;
  return {
    occurred_at: known.at.toISOString(),
    caller_type: known.principal.kind,
    caller_id: known.principal.id,
    operation_id: known.operationId,
    method: req.method as RequestLogEntry['method'],
    route: (known.route ?? req.path).slice(0, 200),
    status: res.statusCode,
    problem_type: problemType ?? null,
    errors: fields?.slice(0, MAX_LOGGED_FIELDS) ?? [],
    duration_ms: Math.round((performance.now() - known.startedAt) * 100) / 100,
    request_id: requestIdOf(req),
    // The key unlocks a stored response: like the idempotency records, the log keeps only its digest.
    idempotency_key_sha256: key ? createHash('sha256').update(key).digest('hex') : null,
    api_version: typeof version === 'string' && API_VERSION.test(version) ? version : null,
    client_address: address && ADDRESS.test(address) ? address : null,
  };
}
