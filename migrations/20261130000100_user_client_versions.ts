import type { Knex } from 'knex';

// Users and partner clients get the version counter items have, so their ETags and If-Match work the
// same way. Existing rows start at 1, as a new row does; every change adds one.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    table.integer('version').notNullable().defaultTo(1);
  });
  await knex.schema.alterTable('oauth_clients', (table) => {
    table.integer('version').notNullable().defaultTo(1);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oauth_clients', (table) => {
    table.dropColumn('version');
  });
  await knex.schema.alterTable('users', (table) => {
    table.dropColumn('version');
  });
}
