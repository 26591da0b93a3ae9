import type { Knex } from 'knex';

// citext gives case-insensitive email uniqueness; PGlite must be opened with the extension loaded.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS citext');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP EXTENSION IF EXISTS citext');
}
