import type { Knex } from 'knex';
import type { Database } from '../dependencies/database';
import {
  hashIdempotencyKey,
  keyRequestHash,
  openResponse,
  sealResponse,
  type StoredResponse,
} from './idempotency-sealing';

export type { StoredResponse } from './idempotency-sealing';

export type BeginOutcome =
  | { kind: 'started' }
  | { kind: 'in-progress' }
  | { kind: 'mismatch' }
  | { kind: 'completed'; response: StoredResponse };

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
   * Claims the key for this request, or reports what holds it. The insert is the lock: of two
   * concurrent first attempts exactly one inserts, the other sees an unfinished record (409).
   */
  async begin(
    principalId: string,
    key: string,
    requestHash: string,
    ttlSeconds: number,
  ): Promise<BeginOutcome> {
    const { db } = this.deps;
    const record = { principal_id: principalId, key_hash: hashIdempotencyKey(key) };
    const storedRequestHash = keyRequestHash(principalId, key, requestHash);
    const expiresAt = db.raw(`now() + make_interval(secs => ?)`, [ttlSeconds]);
    // One statement claims the key: a new record, or one whose 24 hours are over (it no longer counts, so
    // the key starts afresh); a live record is left alone and read below.
    const inserted = await db('idempotency_keys')
      .insert({ ...record, request_hash: storedRequestHash, expires_at: expiresAt })
      .onConflict(['principal_id', 'key_hash'])
      .merge({
        request_hash: storedRequestHash,
        expires_at: expiresAt,
        created_at: db.fn.now(),
        completed_at: null,
        response_status: null,
        response_salt: null,
        response_iv: null,
        response_ciphertext: null,
      })
      .where('idempotency_keys.expires_at', '<=', db.fn.now())
      .returning('key_hash');
    if (inserted.length > 0) return { kind: 'started' };
    const row = (await db('idempotency_keys')
      .select('request_hash', 'response_status', 'response_salt', 'response_iv', 'response_ciphertext')
      .where(record)
      .first()) as IdempotencyRow | undefined;
    // Deleted between our insert and this read (released or expired): the key is free again.
    if (!row) return this.begin(principalId, key, requestHash, ttlSeconds);
    if (row.request_hash !== storedRequestHash) return { kind: 'mismatch' };
    if (row.response_status === null) {
      // An unfinished record older than any request can run belongs to a process that died (killed
      // between its claim and its commit, which would have completed the record): take it over.
      const reclaimed = await db('idempotency_keys')
        .where(record)
        .whereNull('completed_at')
        .where(
          'created_at',
          '<',
          db.raw(`now() - make_interval(secs => ?)`, [this.deps.abandonedAfterSeconds]),
        )
        .update({ created_at: db.fn.now() })
        .returning('key_hash');
      return reclaimed.length > 0 ? { kind: 'started' } : { kind: 'in-progress' };
    }
    // A check constraint keeps the three columns present together with the status.
    const response = openResponse(principalId, key, row.response_status, {
      salt: row.response_salt!,
      iv: row.response_iv!,
      ciphertext: row.response_ciphertext!,
    });
    return { kind: 'completed', response };
  }

  /** Stores the response, encrypted, in the write's own transaction. */
  async complete(
    principalId: string,
    key: string,
    response: StoredResponse,
    trx: Knex.Transaction,
  ): Promise<void> {
    const sealed = sealResponse(principalId, key, response);
    await trx('idempotency_keys')
      .where({ principal_id: principalId, key_hash: hashIdempotencyKey(key) })
      .update({
        response_status: response.status,
        response_salt: sealed.salt,
        response_iv: sealed.iv,
        response_ciphertext: sealed.ciphertext,
        completed_at: trx.fn.now(),
      });
  }

  /** Frees a key whose request did not complete (it failed or was refused), so a retry can run. */
  async release(principalId: string, key: string): Promise<void> {
    await this.deps
      .db('idempotency_keys')
      .where({ principal_id: principalId, key_hash: hashIdempotencyKey(key) })
      .whereNull('completed_at')
      .del();
  }
}
