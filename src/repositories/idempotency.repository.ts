import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';
import {
  hashIdempotencyKey,
  keyRequestHash,
  openResponse,
  sealResponse,
  type StoredResponse,
} from './idempotency-sealing';

export type { StoredResponse } from './idempotency-sealing';

/** What a finished record says to a request that sends its key again. */
export type FinishedRecord = { kind: 'mismatch' } | { kind: 'completed'; response: StoredResponse };

export type ClaimOutcome = { kind: 'claimed' } | { kind: 'in-progress' } | FinishedRecord;

interface IdempotencyRow {
  request_hash: string;
  response_status: number | null;
  /** bytea: a Buffer from pg, a Uint8Array from PGlite. */
  response_salt: Uint8Array | null;
  response_iv: Uint8Array | null;
  response_ciphertext: Uint8Array | null;
}

/**
 * Records are stored under the key's hash with the response encrypted under the key itself
 * (./idempotency-sealing.ts): the table alone neither names a caller's keys nor reveals what they returned.
 */
export class IdempotencyRepository {
  constructor(
    private readonly deps: {
      db: Database;
      /** Longer than any request runs (IDEMPOTENCY_ABANDONED_AFTER_SECONDS, 120 s by default). */
      abandonedAfterSeconds: number;
    },
  ) {}

  /**
   * The finished record of this key, read before the request's handler runs, so a retry of a completed
   * write is answered from the record without running the handler again (it could no longer succeed: a
   * changed password, a rotated secret). No record, or one still being written, is for `claim` to settle.
   */
  async findFinished(
    principalId: string,
    key: string,
    requestHash: string,
  ): Promise<FinishedRecord | undefined> {
    const row = (await this.read(this.deps.db, principalId, key)
      .where('expires_at', '>', this.deps.db.fn.now())
      .first()) as IdempotencyRow | undefined;
    const status = row?.response_status;
    return row && status != null ? finished(row, status, principalId, key, requestHash) : undefined;
  }

  /**
   * Claims the key as the first statement of the write's own transaction, so the record commits with the
   * write or not at all: a request that fails, or whose process dies, leaves no claim behind, and a client
   * that hangs up cannot free a key whose write may still commit.
   *
   * The race: two requests with one key insert at once. The unique index makes the second insert wait for
   * the first transaction; if it commits, the conflict leaves the row alone and the read below (a new
   * snapshot under READ COMMITTED) finds it completed, so the second replays it; if it rolls back, the
   * second insert goes ahead and claims the key.
   */
  async claim(
    principalId: string,
    key: string,
    requestHash: string,
    ttlSeconds: number,
    trx: Knex.Transaction,
  ): Promise<ClaimOutcome> {
    const record = { principal_id: principalId, key_hash: hashIdempotencyKey(key) };
    const storedRequestHash = keyRequestHash(principalId, key, requestHash);
    const expiresAt = trx.raw(`now() + make_interval(secs => ?)`, [ttlSeconds]);
    // A live record is left alone and read below. One whose 24 hours are over no longer counts: the key
    // starts afresh. So does an unfinished one older than any request can run: only the previous release
    // committed its claim apart from the write, and such a record belongs to a process that died.
    const inserted = await trx('idempotency_keys')
      .insert({ ...record, request_hash: storedRequestHash, expires_at: expiresAt })
      .onConflict(['principal_id', 'key_hash'])
      .merge({
        request_hash: storedRequestHash,
        expires_at: expiresAt,
        created_at: trx.fn.now(),
        completed_at: null,
        response_status: null,
        response_salt: null,
        response_iv: null,
        response_ciphertext: null,
      })
      .where((expired) =>
        expired
          .where('idempotency_keys.expires_at', '<=', trx.fn.now())
          .orWhere((abandoned) =>
            abandoned
              .whereNull('idempotency_keys.completed_at')
              .where(
                'idempotency_keys.created_at',
                '<',
                trx.raw(`now() - make_interval(secs => ?)`, [this.deps.abandonedAfterSeconds]),
              ),
          ),
      )
      .returning('key_hash');
    if (inserted.length > 0) return { kind: 'claimed' };
    const row = (await this.read(trx, principalId, key).first()) as IdempotencyRow | undefined;
    // Deleted between the insert and this read: the key is free again.
    if (!row) return this.claim(principalId, key, requestHash, ttlSeconds, trx);
    if (row.response_status !== null)
      return finished(row, row.response_status, principalId, key, requestHash);
    return row.request_hash === keyRequestHash(principalId, key, requestHash)
      ? { kind: 'in-progress' }
      : { kind: 'mismatch' };
  }

  /** Stores the response, encrypted, in the transaction that claimed the key; exactly one record changes. */
  async complete(
    principalId: string,
    key: string,
    response: StoredResponse,
    trx: Knex.Transaction,
  ): Promise<void> {
    const sealed = sealResponse(principalId, key, response);
    const completed = await trx('idempotency_keys')
      .where({ principal_id: principalId, key_hash: hashIdempotencyKey(key) })
      .whereNull('completed_at')
      .update({
        response_status: response.status,
        response_salt: sealed.salt,
        response_iv: sealed.iv,
        response_ciphertext: sealed.ciphertext,
        completed_at: trx.fn.now(),
      })
      .returning('key_hash');
    if (completed.length !== 1) {
      throw new Error(
        `Idempotency record to complete not found in this transaction (${completed.length} rows)`,
      );
    }
  }

  /**
   * Deletes up to `limit` records whose 24 hours are over; returns how many. Rows another sweep holds are
   * skipped, so instances sweeping at once never wait on each other.
   */
  async deleteExpired(limit: number): Promise<number> {
    const { db } = this.deps;
    return db('idempotency_keys')
      .whereIn(
        ['principal_id', 'key_hash'],
        db('idempotency_keys')
          .select('principal_id', 'key_hash')
          .where('expires_at', '<=', db.fn.now())
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .del();
  }

  private read(executor: Knex | Knex.Transaction, principalId: string, key: string) {
    return executor('idempotency_keys')
      .select('request_hash', 'response_status', 'response_salt', 'response_iv', 'response_ciphertext')
      .where({ principal_id: principalId, key_hash: hashIdempotencyKey(key) });
  }
}

function finished(
  row: IdempotencyRow,
  status: number,
  principalId: string,
  key: string,
  requestHash: string,
): FinishedRecord {
  if (row.request_hash !== keyRequestHash(principalId, key, requestHash)) return { kind: 'mismatch' };
  // A check constraint keeps the three columns present together with the status.
  const response = openResponse(principalId, key, status, {
    salt: row.response_salt!,
    iv: row.response_iv!,
    ciphertext: row.response_ciphertext!,
  });
  return { kind: 'completed', response };
}
