import type { Knex } from 'knex';
import type { Database } from '../dependencies/database';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

export type BeginOutcome =
  | { kind: 'started' }
  | { kind: 'in-progress' }
  | { kind: 'mismatch' }
  | { kind: 'completed'; response: StoredResponse };

interface IdempotencyRow {
  request_hash: string;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
}

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
    const expiresAt = db.raw(`now() + make_interval(secs => ?)`, [ttlSeconds]);
    // A record past its 24 hours no longer counts: delete it so the key can start afresh.
    await db('idempotency_keys')
      .where({ principal_id: principalId, key })
      .where('expires_at', '<=', db.fn.now())
      .del();
    const inserted = await db('idempotency_keys')
      .insert({ principal_id: principalId, key, request_hash: requestHash, expires_at: expiresAt })
      .onConflict(['principal_id', 'key'])
      .ignore()
      .returning('key');
    if (inserted.length > 0) return { kind: 'started' };
    const row = (await db('idempotency_keys')
      .select('request_hash', 'response_status', 'response_headers', 'response_body')
      .where({ principal_id: principalId, key })
      .first()) as IdempotencyRow | undefined;
    // Deleted between our insert and this read (released or expired): the key is free again.
    if (!row) return this.begin(principalId, key, requestHash, ttlSeconds);
    if (row.request_hash !== requestHash) return { kind: 'mismatch' };
    if (row.response_status === null) {
      // An unfinished record older than any request can run belongs to a process that died (killed
      // between its claim and its commit, which would have completed the record): take it over.
      const reclaimed = await db('idempotency_keys')
        .where({ principal_id: principalId, key })
        .whereNull('completed_at')
        .where(
          'created_at',
          '<',
          db.raw(`now() - make_interval(secs => ?)`, [this.deps.abandonedAfterSeconds]),
        )
        .update({ created_at: db.fn.now() })
        .returning('key');
      return reclaimed.length > 0 ? { kind: 'started' } : { kind: 'in-progress' };
    }
    return {
      kind: 'completed',
      response: { status: row.response_status, headers: row.response_headers ?? {}, body: row.response_body },
    };
  }

  /** Stores the response in the write's own transaction. */
  async complete(
    trx: Knex.Transaction,
    principalId: string,
    key: string,
    response: StoredResponse,
  ): Promise<void> {
    await trx('idempotency_keys').where({ principal_id: principalId, key }).update({
      response_status: response.status,
      response_headers: response.headers,
      response_body: response.body,
      completed_at: trx.fn.now(),
    });
  }

  /** Frees a key whose request did not complete (it failed or was refused), so a retry can run. */
  async release(principalId: string, key: string): Promise<void> {
    await this.deps
      .db('idempotency_keys')
      .where({ principal_id: principalId, key })
      .whereNull('completed_at')
      .del();
  }
}
