import type { Knex } from 'knex';

/**
 * The claim is fair across endpoints (src/repositories/webhook-deliveries.repository.ts, `claimDue`): it
 * walks each enabled endpoint's due deliveries in `next_attempt_at` order and counts each endpoint's live
 * leases. `webhook_deliveries_endpoint_due` serves the walk and replaces `webhook_deliveries_due`, which
 * served the global walk and which no statement reads any more. `webhook_deliveries_leased` holds only the
 * leased rows (attempts in flight, and leases left by a worker that died), so counting leases reads those
 * and never the backlog. Indexing `lease_expires_at` makes a claim's update touch the indexes (no HOT
 * update): the price of a count that does not grow with the queue.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    "CREATE INDEX webhook_deliveries_endpoint_due ON webhook_deliveries (endpoint_id, next_attempt_at, event_sequence) WHERE status = 'pending'",
  );
  await knex.raw(
    "CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (endpoint_id, lease_expires_at) WHERE status = 'pending' AND lease_expires_at IS NOT NULL",
  );
  await knex.raw('DROP INDEX webhook_deliveries_due');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'",
  );
  await knex.raw('DROP INDEX webhook_deliveries_leased');
  await knex.raw('DROP INDEX webhook_deliveries_endpoint_due');
}
