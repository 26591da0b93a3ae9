import type { Knex } from 'knex';
import type { Principal } from '../models/principal';
import type { Database } from './database';
import { runWithoutDeadline } from './deadline-client';

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
   * It runs even when the request's deadline has passed, bounded by the DB_* timeouts alone.
   */
  afterEnd(work: (trx: Knex.Transaction) => Promise<void>): void;
  /**
   * Runs `work` once the transaction has committed, never after a rollback: for telling others what the
   * commit made visible (the webhook delivery worker, of deliveries to send).
   */
  afterCommit(work: () => void): void;
}

/**
 * A write made before anyone is authenticated (registration, a token grant, a revocation): the request's
 * unit of work and its id, and no actor. It is not a `WriteContext` with an anonymous actor, because who
 * acts is what the request is about to establish (the new account, the user whose password matched, the
 * client whose secret did); each audit row names the actor the request proved, or `anonymous` for a
 * refusal.
 */
export interface AnonymousWriteContext extends UnitOfWork {
  requestId: string;
}

/** Who writes, under which request, in which transaction: what every audited write needs. */
export interface WriteContext extends AnonymousWriteContext {
  actor: Principal;
}

/** A unit of work whose owner ends it: commit when the response is ready, roll back when anything failed. */
export interface OwnedUnitOfWork extends UnitOfWork {
  /** Commits the transaction if a write opened one, then runs the `afterCommit` and `afterEnd` work. */
  commit(): Promise<void>;
  /** Rolls the transaction back if one is open, then runs the `afterEnd` work. */
  rollback(): Promise<void>;
  /**
   * Runs `work` first in the transaction when it opens (the Idempotency-Key claim). When `work` fails the
   * transaction is rolled back and the failure is what the opening `transaction` call throws.
   */
  whenOpened(work: (trx: Knex.Transaction) => Promise<void>): void;
}

/**
 * Opens the transaction lazily, so a read never holds one. A failing `work` rolls back at once (as
 * `db.transaction(work)` would) and rethrows; a later call starts afresh.
 */
export function createUnitOfWork(db: Database): OwnedUnitOfWork {
  let opening: Promise<Knex.Transaction> | undefined;
  const onOpen: Array<(trx: Knex.Transaction) => Promise<void>> = [];
  const afterEnd: Array<(trx: Knex.Transaction) => Promise<void>> = [];
  // The work of the transaction now open: a rolled-back one's is dropped with it.
  let afterCommit: Array<() => void> = [];

  const open = async (): Promise<Knex.Transaction> => {
    const trx = await db.transaction();
    try {
      for (const work of onOpen) await work(trx);
    } catch (error) {
      // What the caller must see is why the transaction could not be used, not a failed rollback's error.
      await trx.rollback().catch(() => undefined);
      throw error;
    }
    return trx;
  };

  const take = async (): Promise<Knex.Transaction | undefined> => {
    const pending = opening;
    opening = undefined;
    return pending?.catch(() => undefined);
  };
  const rollBack = async (): Promise<void> => {
    afterCommit = [];
    await (await take())?.rollback();
  };
  const runAfterEnd = async (): Promise<void> => {
    // Even past the request's deadline: a refusal that came late must still leave its record.
    for (const work of afterEnd.splice(0)) await runWithoutDeadline(db, () => db.transaction(work));
  };

  return {
    async transaction(work) {
      opening ??= open();
      let trx: Knex.Transaction;
      try {
        trx = await opening;
      } catch (error) {
        opening = undefined;
        throw error;
      }
      try {
        return await work(trx);
      } catch (error) {
        await rollBack();
        throw error;
      }
    },
    afterEnd(work) {
      afterEnd.push(work);
    },
    afterCommit(work) {
      afterCommit.push(work);
    },
    whenOpened(work) {
      onOpen.push(work);
    },
    async commit() {
      const trx = await take();
      if (trx) {
        await trx.commit();
        // knex resolves commit() whether or not the COMMIT succeeded (a deferred constraint, a lost
        // connection, a commit refused past the request's deadline); the transaction's own promise says.
        await trx.executionPromise;
      }
      for (const work of afterCommit.splice(0)) work();
      await runAfterEnd();
    },
    async rollback() {
      await rollBack();
      await runAfterEnd();
    },
  };
}

/**
 * A unit of work run to its end outside a request (the CLI, seeding, sign-in through an external identity,
 * the delivery worker): committed when `work` returns, rolled back when it throws.
 */
export async function withUnitOfWork<T>(db: Database, work: (unit: UnitOfWork) => Promise<T>): Promise<T> {
  const unit = createUnitOfWork(db);
  let result: T;
  try {
    result = await work(unit);
  } catch (error) {
    await unit.rollback();
    throw error;
  }
  await unit.commit();
  return result;
}
