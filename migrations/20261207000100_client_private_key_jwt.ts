import type { Knex } from 'knex';

/**
 * Partner clients may authenticate with a signed assertion (RFC 7523, `private_key_jwt`) instead of a
 * secret. Such a client has no secret and exactly one key source: an inline public JWK set or a JWKS URL.
 * A secret client has a secret and no keys. The check holds both shapes, so no write can leave a client
 * that authenticates both ways or neither.
 *
 * `oauth_client_assertion_jtis` remembers each assertion's `jti` until the assertion expires, so an
 * assertion is accepted once across every instance: the primary key is the arbiter of a race between two
 * requests presenting the same assertion.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oauth_clients', (table) => {
    table.text('token_endpoint_auth_method').notNullable().defaultTo('client_secret_basic');
    table.jsonb('jwks');
    table.text('jwks_uri');
  });
  await knex.raw('ALTER TABLE oauth_clients ALTER COLUMN secret_hash DROP NOT NULL');
  await knex.raw(`
    ALTER TABLE oauth_clients ADD CONSTRAINT oauth_clients_auth_method_check CHECK (
      (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post')
        AND secret_hash IS NOT NULL AND jwks IS NULL AND jwks_uri IS NULL)
      OR (token_endpoint_auth_method = 'private_key_jwt'
        AND secret_hash IS NULL AND (jwks IS NULL) <> (jwks_uri IS NULL))
    )`);
  await knex.schema.createTable('oauth_client_assertion_jtis', (table) => {
    table.uuid('client_id').notNullable().references('oauth_clients.id').onDelete('CASCADE');
    table.text('jti').notNullable();
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.primary(['client_id', 'jti']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oauth_client_assertion_jtis');
  // Clients that have no secret cannot survive the old schema; they go with their sessions.
  await knex('oauth_clients').where({ token_endpoint_auth_method: 'private_key_jwt' }).del();
  await knex.raw('ALTER TABLE oauth_clients DROP CONSTRAINT oauth_clients_auth_method_check');
  await knex.raw('ALTER TABLE oauth_clients ALTER COLUMN secret_hash SET NOT NULL');
  await knex.schema.alterTable('oauth_clients', (table) => {
    table.dropColumn('jwks_uri');
    table.dropColumn('jwks');
    table.dropColumn('token_endpoint_auth_method');
  });
}
