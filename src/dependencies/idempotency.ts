import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { IdempotencyRepository, StoredResponse } from '../repositories/idempotency.repository';
import { AnswerInstead, type WriteGuard } from './handler-map';
import { toStoredResponse, type SentResult } from './operation-result';
import { ConflictError, UnprocessableError } from '../utils/errors';

const RECORD_TTL_SECONDS = 24 * 60 * 60;

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

function replayOf(stored: StoredResponse): SentResult {
  const headers = { ...stored.headers, 'Idempotent-Replayed': 'true' };
  return stored.body === null
    ? { status: stored.status, headers }
    : { status: stored.status, headers, encoded: stored.body };
}

const mismatch = () =>
  new UnprocessableError('This Idempotency-Key was already used with a different request.');

/**
 * Idempotency-Key for the operations that declare it. A retry of a finished request is answered from its
 * record before the handler runs, unless `isReplayable` says the stored answer is spent (a token response
 * whose tokens were used since): then the request runs as if it carried no key. Otherwise the key is claimed by the first statement of the write's own
 * transaction and its response stored by the last, so item, audit row, events and record commit together
 * or not at all. Nothing ever releases a key: a failed request's rollback takes its claim with it, and a
 * client hanging up changes nothing (the write runs on and commits or rolls back).
 */
export function createIdempotency(deps: {
  repository: IdempotencyRepository;
  isReplayable?: (stored: StoredResponse) => Promise<boolean>;
  /** How long the record (and so its replay) lives; 24 hours unless an answer goes stale sooner. */
  recordTtlSeconds?: number;
}): WriteGuard {
  const {
    repository,
    isReplayable = () => Promise.resolve(true),
    recordTtlSeconds = RECORD_TTL_SECONDS,
  } = deps;
  return async (req, unit) => {
    const key = req.get('Idempotency-Key');
    if (!key) return {};
    const principalId = req.principal?.id ?? ANONYMOUS_SCOPE;
    const requestHash = fingerprint(req, !req.principal);
    const finished = await repository.findFinished(principalId, key, requestHash);
    if (finished?.kind === 'mismatch') throw mismatch();
    if (finished?.kind === 'completed') {
      return (await isReplayable(finished.response)) ? { answer: replayOf(finished.response) } : {};
    }

    unit.whenOpened(async (trx) => {
      const claimed = await repository.claim(principalId, key, requestHash, recordTtlSeconds, trx);
      switch (claimed.kind) {
        case 'claimed':
          return;
        // A concurrent request with this key committed while this one ran its handler.
        case 'completed':
          throw new AnswerInstead(replayOf(claimed.response));
        case 'mismatch':
          throw mismatch();
        case 'in-progress':
          throw new ConflictError(
            'A request with this Idempotency-Key is still being processed; retry later.',
          );
      }
    });
    return {
      beforeCommit: (result) =>
        unit.transaction((trx) => repository.complete(principalId, key, toStoredResponse(result), trx)),
    };
  };
}
