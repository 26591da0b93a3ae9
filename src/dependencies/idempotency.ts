import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { IdempotencyRepository, StoredResponse } from '../repositories/idempotency.repository';
import type { BeforeCommit } from '../routers/handler-map';
import { toStoredResponse } from '../routers/operation-result';
import { ConflictError, UnprocessableError } from '../utils/errors';

const RECORD_TTL_SECONDS = 24 * 60 * 60;

export interface IdempotencyClaim {
  principalId: string;
  key: string;
  completed: boolean;
}

export interface Idempotency {
  /** For operations that declare the Idempotency-Key header: replays, refuses or claims the key. */
  middleware: RequestHandler;
  /** With a claimed key, stores the handler's response in the write's transaction, before it commits. */
  storeResponse: BeforeCommit;
}

/** Object keys sorted at every level, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([key, nested]) => `${JSON.stringify(key)}:${canonicalJson(nested)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Operations open to anonymous callers (registration, the OAuth endpoints) keep their keys in one scope.
 * What keeps one caller from another's record there is the fingerprint, which then covers the
 * Authorization header as well as the body: a replay needs the very credentials of the first request
 * (its password, refresh token or client secret), so it tells nobody anything new.
 */
const ANONYMOUS_SCOPE = '00000000-0000-0000-0000-000000000000';

function fingerprint(req: Request, anonymous: boolean): string {
  const credentials = anonymous ? ` ${req.get('Authorization') ?? ''}` : '';
  return createHash('sha256')
    .update(`${req.method} ${req.originalUrl}${credentials}\n${canonicalJson(req.body ?? null)}`)
    .digest('hex');
}

function replay(res: Response, stored: StoredResponse): void {
  res.status(stored.status).set(stored.headers).set('Idempotent-Replayed', 'true');
  if (stored.body === null) res.end();
  else res.send(stored.body);
}

export function createIdempotency(deps: { repository: IdempotencyRepository }): Idempotency {
  const { repository } = deps;
  return {
    middleware: async (req, res, next) => {
      const key = req.get('Idempotency-Key');
      if (!key) {
        next();
        return;
      }
      const principalId = req.principal?.id ?? ANONYMOUS_SCOPE;
      const outcome = await repository.begin(
        principalId,
        key,
        fingerprint(req, !req.principal),
        RECORD_TTL_SECONDS,
      );
      switch (outcome.kind) {
        case 'mismatch':
          throw new UnprocessableError('This Idempotency-Key was already used with a different request.');
        case 'in-progress':
          throw new ConflictError(
            'A request with this Idempotency-Key is still being processed; retry later.',
          );
        case 'completed':
          replay(res, outcome.response);
          return;
        case 'started': {
          const claim: IdempotencyClaim = { principalId, key, completed: false };
          res.locals.idempotencyClaim = claim;
          // Anything but a committed success frees the key, so the client can retry; 'close' also
          // fires when the client hangs up before the response is sent.
          res.on('close', () => {
            if (!claim.completed || res.statusCode >= 400) {
              repository
                .release(principalId, key)
                .catch((error: unknown) => req.log.error({ err: error }, 'idempotency: release failed'));
            }
          });
          next();
        }
      }
    },

    storeResponse: async (res, unit, result) => {
      const claim = res.locals.idempotencyClaim;
      if (!claim) return;
      await unit.transaction((trx) =>
        repository.complete(claim.principalId, claim.key, toStoredResponse(result), trx),
      );
      claim.completed = true;
    },
  };
}
