import type { Knex } from 'knex';

/**
 * Issue 24: the events API, webhook recovery and the request log.
 *
 * `webhook_events.audience` says who may read an event through `GET /v1/events`: the audience its
 * deliveries were chosen by (`user:<id>`, `client:<id>` or `administrators`), so the events API and the
 * webhooks follow one visibility rule. Events written before this migration have none and are not listed.
 * `webhook_events_audience_list` serves the keyset list per audience; `webhook_events_occurred_at` the
 * retention sweep; `webhook_deliveries_event` the cascade of that sweep (without it each deleted event
 * scans the deliveries) and a recovery's look-up of an event's deliveries.
 *
 * `request_logs` is each caller's recent requests, written in batches outside the request (no foreign
 * keys: a batch must not fail because a caller was deleted meanwhile; retention removes the rows).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE webhook_events ADD COLUMN audience text');
  await knex.raw(
    'CREATE INDEX webhook_events_audience_list ON webhook_events (audience, occurred_at DESC, id DESC) WHERE audience IS NOT NULL',
  );
  await knex.raw('CREATE INDEX webhook_events_occurred_at ON webhook_events (occurred_at)');
  await knex.raw('CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)');

  // The API itself as an actor (`system`, no id): the webhook worker disabling an endpoint that kept failing.
  await knex.raw('ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_check');
  await knex.raw(
    "ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_check CHECK (CASE actor_type WHEN 'user' THEN actor_id IS NOT NULL WHEN 'client' THEN actor_id IS NOT NULL WHEN 'cli' THEN actor_id IS NULL WHEN 'anonymous' THEN actor_id IS NULL WHEN 'system' THEN actor_id IS NULL ELSE false END)",
  );

  await knex.schema.createTable('request_logs', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    table.timestamp('occurred_at', { useTz: true }).notNullable();
    table.text('caller_type').notNullable();
    table.uuid('caller_id').notNullable();
    table.text('operation_id').notNullable();
    table.text('method').notNullable();
    table.text('route').notNullable();
    table.smallint('status').notNullable();
    table.text('problem_type').nullable();
    table.jsonb('errors').notNullable().defaultTo('[]');
    table.double('duration_ms').notNullable();
    table.text('request_id').notNullable();
    table.text('idempotency_key_sha256').nullable();
    table.text('api_version').nullable();
    table.text('client_address').nullable();
  });
  await knex.raw(
    "ALTER TABLE request_logs ADD CONSTRAINT request_logs_caller_type_check CHECK (caller_type IN ('user', 'client'))",
  );
  await knex.raw(
    'CREATE INDEX request_logs_caller_list ON request_logs (caller_id, occurred_at DESC, id DESC)',
  );
  await knex.raw('CREATE INDEX request_logs_list ON request_logs (occurred_at DESC, id DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('request_logs');
  await knex.raw("DELETE FROM audit_events WHERE actor_type = 'system'");
  await knex.raw('ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_check');
  await knex.raw(
    "ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_check CHECK (CASE actor_type WHEN 'user' THEN actor_id IS NOT NULL WHEN 'client' THEN actor_id IS NOT NULL WHEN 'cli' THEN actor_id IS NULL WHEN 'anonymous' THEN actor_id IS NULL ELSE false END)",
  );
  await knex.raw('DROP INDEX webhook_deliveries_event');
  await knex.raw('DROP INDEX webhook_events_occurred_at');
  await knex.raw('DROP INDEX webhook_events_audience_list');
  await knex.raw('ALTER TABLE webhook_events DROP COLUMN audience');
}
