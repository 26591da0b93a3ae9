import type { Knex } from 'knex';

const PINNED = ['users', 'oauth_clients', 'webhook_endpoints'] as const;

/**
 * Dated API versions: every user and partner client is pinned to the version requests without an
 * `Api-Version` header are served at, and every webhook endpoint to the version its payloads are rendered
 * at. Everyone who integrated before versions existed built against 2026-11-30, the shape before the first
 * version step, so existing rows keep it until their owners move. The application writes the latest
 * version into every row it creates; the default only covers rows written around it (fixtures, scripts),
 * which then get the shape a partner of the first day had.
 */
export async function up(knex: Knex): Promise<void> {
  for (const table of PINNED) {
    await knex.raw(`
      ALTER TABLE ${table}
        ADD COLUMN api_version text NOT NULL DEFAULT '2026-11-30'
          CONSTRAINT ${table}_api_version_check CHECK (api_version ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of PINNED) await knex.raw(`ALTER TABLE ${table} DROP COLUMN api_version`);
}
