import type { Knex } from 'knex';
import type { UnitOfWork } from '../services/write-context';
import type { Database } from './database';

/** A unit of work whose owner ends it: commit when the response is ready, roll back when anything failed. */
export interface OwnedUnitOfWork extends UnitOfWork {
  /** Commits the transaction if a write opened one; nothing to do otherwise. */
  commit(): Promise<void>;
  /** Rolls the transaction back if one is open. */
  rollback(): Promise<void>;
}

/**
 * Opens the transaction lazily, so a read never holds one. A failing `work` rolls back at once (as
 * `db.transaction(work)` would) and rethrows; a later call starts afresh.
 */
export function createUnitOfWork(db: Database): OwnedUnitOfWork {
  let opening: Promise<Knex.Transaction> | undefined;

  const take = async (): Promise<Knex.Transaction | undefined> => {
    const pending = opening;
    opening = undefined;
    return pending?.catch(() => undefined);
  };

  return {
    async transaction(work) {
      opening ??= db.transaction();
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
    async commit() {
      await (await take())?.commit();
    },
    async rollback() {
      await (await take())?.rollback();
    },
  };
}
