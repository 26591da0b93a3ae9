import type { Knex } from 'knex';
import type { Principal } from './principal';

/**
 * Who writes, under which request, and what else must commit with the write: services run
 * `beforeCommit` inside their transaction (the idempotency record), so either all of it lands or none.
 */
export interface WriteContext<Result> {
  actor: Principal;
  requestId: string;
  beforeCommit?: (trx: Knex.Transaction, result: Result) => Promise<void>;
}
