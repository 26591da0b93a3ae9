import type { Knex } from 'knex';
import { PreconditionFailedError, PreconditionRequiredError } from '../utils/errors';
import { ifMatchSatisfied } from '../utils/etag';
import type { UnitOfWork } from '../infrastructure/unit-of-work';

/**
 * A change to a versioned resource (item, user, client) under `If-Match`, the one place the rule lives:
 * 428 without the header, before anything is read; then, in one transaction, `lockCurrent` reads the row
 * `FOR UPDATE` (and throws its own not-found), the header is compared with its version (412 when stale),
 * and `write` runs in the same transaction, audit row included.
 *
 * The race it wins: two writers holding the same ETag. Without the lock both would read version n, both
 * pass the comparison, and the later write would silently undo the earlier one. With it the second
 * writer's `SELECT ... FOR UPDATE` waits for the first to commit and then reads version n + 1 (PostgreSQL
 * re-reads a locked row once its locker commits, even under READ COMMITTED): 412.
 */
export function writeIfMatch<Current extends { version: number }, Result>(
  unit: UnitOfWork,
  ifMatch: string | undefined,
  lockCurrent: (trx: Knex.Transaction) => Promise<Current>,
  write: (trx: Knex.Transaction, current: Current) => Promise<Result>,
): Promise<Result> {
  if (!ifMatch) return Promise.reject(new PreconditionRequiredError());
  return unit.transaction(async (trx) => {
    const current = await lockCurrent(trx);
    if (!ifMatchSatisfied(ifMatch, current.version)) throw new PreconditionFailedError();
    return write(trx, current);
  });
}
