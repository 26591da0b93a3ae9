import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    table.specificType('email', 'citext').unique();
    table.text('name').notNullable();
    // Null for accounts that only sign in through an external identity provider.
    table.text('password_hash');
    table.text('role').notNullable().defaultTo('user');
    table.text('status').notNullable().defaultTo('active');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.check("role in ('user', 'admin')", [], 'users_role_check');
    table.check("status in ('active', 'disabled')", [], 'users_status_check');
    table.index(['created_at', 'id'], 'users_created_at_id_index');
  });

  await knex.schema.createTable('external_identities', (table) => {
    table.text('issuer').notNullable();
    table.text('subject').notNullable();
    table.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.primary(['issuer', 'subject']);
    table.index(['user_id']);
  });

  await knex.schema.createTable('oauth_clients', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    table.text('name').notNullable();
    table.text('secret_hash').notNullable();
    table.specificType('scopes', 'text[]').notNullable();
    table.uuid('created_by').references('users.id').onDelete('SET NULL');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['created_at', 'id'], 'oauth_clients_created_at_id_index');
  });

  // A session is one sign-in (or one client credentials grant): refresh tokens rotate within it and
  // access tokens name it in `sid`, so revoking it ends every token issued from it at once.
  await knex.schema.createTable('auth_sessions', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    table.uuid('user_id').references('users.id').onDelete('CASCADE');
    table.uuid('client_id').references('oauth_clients.id').onDelete('CASCADE');
    table.text('scope').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('revoked_at', { useTz: true });
    table.check('(user_id is null) <> (client_id is null)', [], 'auth_sessions_one_principal_check');
    table.index(['user_id']);
    table.index(['client_id']);
  });

  await knex.schema.createTable('refresh_tokens', (table) => {
    table.text('token_hash').primary();
    table.uuid('session_id').notNullable().references('auth_sessions.id').onDelete('CASCADE');
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.timestamp('used_at', { useTz: true });
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['session_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('refresh_tokens');
  await knex.schema.dropTable('auth_sessions');
  await knex.schema.dropTable('oauth_clients');
  await knex.schema.dropTable('external_identities');
  await knex.schema.dropTable('users');
}
