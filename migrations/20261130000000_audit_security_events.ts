import type { Knex } from 'knex';

// Security events: a failed sign-in has no authenticated actor and, for an unknown account, no resource;
// `details` holds what such an event needs (the username tried, the reason, the session).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (table) => {
    table.uuid('actor_id').nullable().alter();
    table.text('resource_id').nullable().alter();
    table.jsonb('details');
  });
  await knex.raw(
    "ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_check CHECK (CASE actor_type WHEN 'user' THEN actor_id IS NOT NULL WHEN 'client' THEN actor_id IS NOT NULL WHEN 'cli' THEN actor_id IS NULL WHEN 'anonymous' THEN actor_id IS NULL ELSE false END)",
  );
  // Registration was the only way to create a user and wrote its own action; it is one of several now.
  await knex.raw(
    `UPDATE audit_events SET action = 'user.created', details = '{"via":"registration"}' WHERE action = 'user.registered'`,
  );
  // One index per filter, each ending in the list order so a filtered page is a range scan.
  await knex.raw('CREATE INDEX audit_events_action_index ON audit_events (action, occurred_at, id)');
  await knex.raw('CREATE INDEX audit_events_actor_index ON audit_events (actor_id, occurred_at, id)');
  await knex.raw(
    'CREATE INDEX audit_events_resource_index ON audit_events (resource_type, resource_id, occurred_at, id)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX audit_events_resource_index');
  await knex.raw('DROP INDEX audit_events_actor_index');
  await knex.raw('DROP INDEX audit_events_action_index');
  await knex.raw(
    `UPDATE audit_events SET action = 'user.registered' WHERE action = 'user.created' AND details->>'via' = 'registration'`,
  );
  // The earlier schema cannot hold events without an actor or a resource.
  await knex('audit_events').whereNull('actor_id').orWhereNull('resource_id').del();
  await knex.raw('ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_check');
  await knex.schema.alterTable('audit_events', (table) => {
    table.dropColumn('details');
    table.text('resource_id').notNullable().alter();
    table.uuid('actor_id').notNullable().alter();
  });
}
