import type { Knex } from 'knex';

/**
 * Outbound webhooks. `webhook_endpoints` are the subscriptions (owned by a user or a partner client, like
 * items); `webhook_events` is the transactional outbox, written in the transaction of the change it
 * reports; `webhook_deliveries` is one row per event and endpoint, the queue workers claim from with
 * `FOR UPDATE SKIP LOCKED` and the log an owner reads. Signing secrets are stored encrypted
 * (WEBHOOK_SECRETS_KEY): they must be usable to sign, so unlike passwords they cannot be hashed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    table.uuid('owner_user_id').nullable().references('id').inTable('users').onDelete('CASCADE');
    table.uuid('owner_client_id').nullable().references('id').inTable('oauth_clients').onDelete('CASCADE');
    table.text('url').notNullable();
    table.text('description').nullable();
    table.specificType('event_types', 'text[]').notNullable();
    table.text('status').notNullable().defaultTo('enabled');
    table.text('disabled_reason').nullable();
    table.timestamp('disabled_at', { useTz: true }).nullable();
    table.binary('secret_sealed').notNullable();
    table.binary('previous_secret_sealed').nullable();
    table.timestamp('previous_secret_expires_at', { useTz: true }).nullable();
    table.timestamp('failing_since', { useTz: true }).nullable();
    table.integer('version').notNullable().defaultTo(1);
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    ALTER TABLE webhook_endpoints
      ADD CONSTRAINT webhook_endpoints_one_owner_check
        CHECK ((owner_user_id IS NULL) <> (owner_client_id IS NULL)),
      ADD CONSTRAINT webhook_endpoints_status_check CHECK (status IN ('enabled', 'disabled')),
      ADD CONSTRAINT webhook_endpoints_disabled_check
        CHECK ((status = 'disabled') = (disabled_reason IS NOT NULL AND disabled_at IS NOT NULL)),
      ADD CONSTRAINT webhook_endpoints_disabled_reason_check
        CHECK (disabled_reason IN ('by_owner', 'failing'))`);
  await knex.raw(
    'CREATE INDEX webhook_endpoints_user_list ON webhook_endpoints (owner_user_id, created_at DESC, id DESC) WHERE owner_user_id IS NOT NULL',
  );
  await knex.raw(
    'CREATE INDEX webhook_endpoints_client_list ON webhook_endpoints (owner_client_id, created_at DESC, id DESC) WHERE owner_client_id IS NOT NULL',
  );

  await knex.schema.createTable('webhook_events', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    table.text('type').notNullable();
    table.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.text('resource_type').notNullable();
    table.uuid('resource_id').notNullable();
    // The envelope exactly as it is sent (id, type, occurred_at, data), validated against the spec.
    table.jsonb('payload').notNullable();
  });
  // Order of occurrence: commit order is what a receiver can rely on per resource, and a sequence taken
  // inside the transaction gives it (timestamps tie, and now() is the transaction's start).
  await knex.raw('ALTER TABLE webhook_events ADD COLUMN sequence bigint GENERATED ALWAYS AS IDENTITY UNIQUE');

  await knex.schema.createTable('webhook_deliveries', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    table.uuid('endpoint_id').notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE');
    table.uuid('event_id').notNullable().references('id').inTable('webhook_events').onDelete('CASCADE');
    table.bigInteger('event_sequence').notNullable();
    table.uuid('resource_id').notNullable();
    table.text('status').notNullable().defaultTo('pending');
    table.integer('attempts').notNullable().defaultTo(0);
    table.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('lease_expires_at', { useTz: true }).nullable();
    table.timestamp('last_attempt_at', { useTz: true }).nullable();
    table.integer('last_status_code').nullable();
    table.integer('last_latency_ms').nullable();
    table.text('last_error').nullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('completed_at', { useTz: true }).nullable();
  });
  await knex.raw(`
    ALTER TABLE webhook_deliveries
      ADD CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'succeeded', 'failed'))`);
  await knex.raw(
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'",
  );
  await knex.raw(
    "CREATE INDEX webhook_deliveries_resource_order ON webhook_deliveries (endpoint_id, resource_id, event_sequence) WHERE status = 'pending'",
  );
  await knex.raw(
    'CREATE INDEX webhook_deliveries_endpoint_list ON webhook_deliveries (endpoint_id, created_at DESC, id DESC)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_deliveries');
  await knex.schema.dropTable('webhook_events');
  await knex.schema.dropTable('webhook_endpoints');
}
