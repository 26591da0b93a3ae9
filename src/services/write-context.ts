import type { Knex } from 'knex';
import type { Principal } from '../models/principal';

/**
 * The one transaction of a write. A service runs its statements through `transaction`; the caller decides
 * when it commits: for an HTTP request, the binding layer commits after the handler has produced its
 * response (and stored it under the request's Idempotency-Key), so all of it lands or none of it.
 * Services get no other way to open a transaction for a write, so none can bypass it.
 */
export interface UnitOfWork {
  /**
   * Runs `work` in the transaction, opening it on first use; a second call joins the same transaction.
   * Once it is open, every statement until the response must run in it: embedded PGlite has one
   * connection, which the open transaction holds.
   */
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /**
   * Runs `work` in a transaction of its own once the request's has ended, committed or rolled back: for
   * what a refusal must leave behind (a reused refresh token ends its session although the request fails).
   */
  afterEnd(work: (trx: Knex.Transaction) => Promise<void>): void;
}

/** Who writes, under which request, in which transaction: what every audited write needs. */
export interface WriteContext extends UnitOfWork {
  actor: Principal;
  requestId: string;
}
