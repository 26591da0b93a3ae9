import type { Knex } from 'knex';

/**
 * Restricted API keys, owned by a user or a partner client (exactly one), with a subset of the owner's
 * scopes. Only the SHA-256 of a secret is stored: 256 random bits need no slow hash. After a rotation
 * the previous secret's hash stays until `previous_secret_expires_at` (the overlap window). A revoked key
 * keeps its row (revoked_at) so the owner's list and the audit trail still name it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_keys', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    table.uuid('owner_user_id').nullable().references('id').inTable('users').onDelete('CASCADE');
    table.uuid('owner_client_id').nullable().references('id').inTable('oauth_clients').onDelete('CASCADE');
    table.text('name').notNullable();
    table.text('prefix').notNullable();
    table.specificType('scopes', 'text[]').notNullable();
    table.text('secret_hash').notNullable().unique();
    table.text('previous_secret_hash').nullable().unique();
    table.timestamp('previous_secret_expires_at', { useTz: true }).nullable();
    table.timestamp('expires_at', { useTz: true }).nullable();
    table.timestamp('revoked_at', { useTz: true }).nullable();
    table.timestamp('last_used_at', { useTz: true }).nullable();
    table.integer('version').notNullable().defaultTo(1);
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    ALTER TABLE api_keys
      ADD CONSTRAINT api_keys_one_owner_check CHECK ((owner_user_id IS NULL) <> (owner_client_id IS NULL)),
      ADD CONSTRAINT api_keys_previous_secret_check
        CHECK ((previous_secret_hash IS NULL) = (previous_secret_expires_at IS NULL))`);
  await knex.raw(
    'CREATE INDEX api_keys_user_list ON api_keys (owner_user_id, created_at DESC, id DESC) WHERE owner_user_id IS NOT NULL',
  );
  await knex.raw(
    'CREATE INDEX api_keys_client_list ON api_keys (owner_client_id, created_at DESC, id DESC) WHERE owner_client_id IS NOT NULL',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_keys');
}
