import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('items', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    table.uuid('owner_user_id').references('users.id').onDelete('CASCADE');
    table.uuid('owner_client_id').references('oauth_clients.id').onDelete('CASCADE');
    table.text('name').notNullable();
    table.text('description');
    table.text('status').notNullable().defaultTo('draft');
    table.specificType('tags', 'text[]').notNullable().defaultTo('{}');
    table.jsonb('metadata').notNullable().defaultTo('{}');
    table.integer('version').notNullable().defaultTo(1);
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.check('(owner_user_id is null) <> (owner_client_id is null)', [], 'items_one_owner_check');
    table.check("status in ('draft', 'active', 'archived')", [], 'items_status_check');
  });
  // One owner column to index and filter on, whichever kind of principal owns the item.
  await knex.raw(
    'ALTER TABLE items ADD COLUMN owner_id uuid GENERATED ALWAYS AS (coalesce(owner_user_id, owner_client_id)) STORED',
  );
  // Keyset pagination walks these in either direction, so page 1,000 costs what page 1 costs.
  await knex.raw('CREATE INDEX items_owner_created_at_id_index ON items (owner_id, created_at, id)');
  await knex.raw('CREATE INDEX items_owner_name_id_index ON items (owner_id, name, id)');
  await knex.raw('CREATE INDEX items_tags_index ON items USING gin (tags)');

  await knex.schema.createTable('audit_events', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    table.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.text('actor_type').notNullable();
    table.uuid('actor_id').notNullable();
    table.text('action').notNullable();
    table.text('resource_type').notNullable();
    table.text('resource_id').notNullable();
    table.text('request_id').notNullable();
    table.index(['occurred_at', 'id'], 'audit_events_occurred_at_id_index');
  });

  await knex.schema.createTable('idempotency_keys', (table) => {
    table.uuid('principal_id').notNullable();
    table.text('key').notNullable();
    table.text('request_hash').notNullable();
    table.integer('response_status');
    table.jsonb('response_headers');
    table.text('response_body');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('completed_at', { useTz: true });
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.primary(['principal_id', 'key']);
    table.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idempotency_keys');
  await knex.schema.dropTable('audit_events');
  await knex.schema.dropTable('items');
}
