import type { Knex } from 'knex';
import type { UnitOfWork } from '../services/write-context';
import type { Database } from './database';

/** A unit of work whose owner ends it: commit when the response is ready, roll back when anything failed. */
export interface OwnedUnitOfWork extends UnitOfWork {
  /** Commits the transaction if a write opened one, then runs the `afterEnd` work; returns what committed. */
  commit(): Promise<Knex.Transaction | undefined>;
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
  const runAfterEnd = async (): Promise<void> => {
    for (const work of afterEnd.splice(0)) await db.transaction(work);
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
        await (await take())?.rollback();
        throw error;
      }
    },
    afterEnd(work) {
      afterEnd.push(work);
    },
    whenOpened(work) {
      onOpen.push(work);
    },
    async commit() {
      const trx = await take();
      await trx?.commit();
      await runAfterEnd();
      return trx;
    },
    async rollback() {
      await (await take())?.rollback();
      await runAfterEnd();
    },
  };
}
