/**
 * The delivery claim's plan and time on PostgreSQL with a backlog: PENDING due deliveries (50,000) spread
 * over ENDPOINTS enabled endpoints (20), four events per resource, two live leases on half the endpoints,
 * HISTORY finished deliveries (100,000) and a disabled endpoint with DISABLED pending ones (50,000). Prints
 * EXPLAIN (ANALYZE, BUFFERS) of one claim of 10 (rolled back) and the time of CLAIMS real claims; asserts
 * nothing. SKEW=1 puts 90 % of the backlog on one endpoint; KEEP=1 leaves the database for psql.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx scripts/webhooks/claim-plan.ts
 *
 * It creates and drops its own database, webhook_claim_<pid>, on DATABASE_URL's server.
 */
import { performance } from 'node:perf_hooks';
import knex, { type Knex } from 'knex';
import { createPgKnex } from '../../src/infrastructure/database';
import { migrateToLatest } from '../../src/infrastructure/migrations';
import { WebhookDeliveriesRepository } from '../../src/repositories/webhook-deliveries.repository';

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ENDPOINTS = Number(process.env.ENDPOINTS ?? 20);
const PENDING = Number(process.env.PENDING ?? 50_000);
const HISTORY = Number(process.env.HISTORY ?? 100_000);
const DISABLED = Number(process.env.DISABLED ?? 50_000);
const CLAIMS = Number(process.env.CLAIMS ?? 50);
const SKEW = process.env.SKEW === '1';

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const name = `webhook_claim_${process.pid}`;
  const admin = knex({ client: 'pg', connection: SERVER_URL, pool: { min: 0, max: 1 } });
  await admin.raw('CREATE DATABASE ??', [name]);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const db = createPgKnex({
    url: url.toString(),
    poolMin: 0,
    poolMax: 2,
    statementTimeoutMs: 120_000,
    acquireTimeoutMs: 5000,
    connectTimeoutMs: 5000,
    queryTimeoutMs: 120_000,
  });
  try {
    await migrateToLatest(db);
    const now = new Date('2033-01-01T00:00:00Z');
    await db.raw(
      `WITH owner AS (INSERT INTO users (name) VALUES ('Claim plan') RETURNING id)
       INSERT INTO webhook_endpoints (owner_user_id, url, event_types, secret_sealed, status, disabled_reason, disabled_at)
       SELECT owner.id, 'https://hooks.example.com/' || n, '{item.updated}', '\\x00',
              CASE WHEN n > ? THEN 'disabled' ELSE 'enabled' END,
              CASE WHEN n > ? THEN 'by_owner' END, CASE WHEN n > ? THEN now() END
         FROM owner, generate_series(1, ? + 1) n`,
      [ENDPOINTS, ENDPOINTS, ENDPOINTS, ENDPOINTS],
    );
    const rows = PENDING + HISTORY + DISABLED;
    await db.raw(
      `INSERT INTO webhook_events (id, type, occurred_at, resource_type, resource_id, payload)
       SELECT gen_random_uuid(), 'item.updated', ?::timestamptz - make_interval(secs => n), 'item',
              md5((n / 4)::text)::uuid, '{}'::jsonb
         FROM generate_series(1, ?) n`,
      [now.toISOString(), rows],
    );
    await db.raw(
      // Endpoint k (1-based) is the k-th enabled one; k = ENDPOINTS + 1 is the disabled one.
      `WITH e AS (SELECT id, row_number() OVER (ORDER BY status = 'disabled', created_at, url) AS k
                    FROM webhook_endpoints),
            ev AS (SELECT id, sequence, resource_id, occurred_at, row_number() OVER (ORDER BY sequence) AS n
                     FROM webhook_events)
       INSERT INTO webhook_deliveries
              (endpoint_id, event_id, event_sequence, resource_id, status, next_attempt_at, created_at, completed_at)
       SELECT e.id, ev.id, ev.sequence, ev.resource_id,
              CASE WHEN ev.n <= ? THEN 'pending' WHEN ev.n <= ? THEN 'succeeded' ELSE 'pending' END,
              ev.occurred_at, ev.occurred_at, CASE WHEN ev.n > ? AND ev.n <= ? THEN ev.occurred_at END
         FROM ev
         JOIN e ON e.k = CASE
                           WHEN ev.n > ? THEN ? + 1
                           WHEN ? AND ev.n % 10 <> 0 THEN 1
                           ELSE 1 + (ev.n / 10) % ?
                         END`,
      [PENDING, PENDING + HISTORY, PENDING, PENDING + HISTORY, PENDING + HISTORY, ENDPOINTS, SKEW, ENDPOINTS],
    );
    // Attempts in flight: two leases on each of half the enabled endpoints.
    await db.raw(
      `UPDATE webhook_deliveries SET lease_expires_at = ?::timestamptz
        WHERE id IN (SELECT DISTINCT ON (endpoint_id, n % 2) id
                       FROM (SELECT id, endpoint_id, row_number() OVER (ORDER BY endpoint_id) AS n
                               FROM webhook_deliveries d
                              WHERE status = 'pending'
                                AND endpoint_id IN (SELECT id FROM webhook_endpoints
                                                     WHERE status = 'enabled' ORDER BY url LIMIT ? / 2)) x
                      ORDER BY endpoint_id, n % 2, id)`,
      [new Date(now.getTime() + 60_000).toISOString(), ENDPOINTS],
    );
    await db.raw('VACUUM ANALYZE webhook_deliveries');
    await db.raw('ANALYZE');

    const repository = new WebhookDeliveriesRepository({ db });
    let claim: { sql: string; bindings: readonly Knex.RawBinding[] } | undefined;
    const capture = (query: NonNullable<typeof claim>) => {
      if (query.sql.includes('FOR UPDATE OF d')) claim = query;
    };
    db.on('query', capture);
    await db
      .transaction(async (trx) => {
        await new WebhookDeliveriesRepository({ db: trx }).claimDue(now, 10, 60_000);
        throw new Rollback();
      })
      .catch((error: unknown) => {
        if (!(error instanceof Rollback)) throw error;
      });
    db.off('query', capture);
    await db
      .transaction(async (trx) => {
        const { rows: plan } = await trx.raw<{ rows: Array<{ 'QUERY PLAN': string }> }>(
          `EXPLAIN (ANALYZE, BUFFERS) ${claim!.sql.replace(/\$\d+/g, '?')}`,
          claim!.bindings,
        );
        out(plan.map((row) => row['QUERY PLAN']).join('\n'));
        throw new Rollback();
      })
      .catch((error: unknown) => {
        if (!(error instanceof Rollback)) throw error;
      });

    const times: number[] = [];
    let claimed = 0;
    for (let i = 0; i < CLAIMS; i += 1) {
      const started = performance.now();
      const batch = await repository.claimDue(now, 10, 60_000);
      times.push(performance.now() - started);
      claimed += batch.length;
      // Finish them, as a fast receiver would: the next claim finds the bound free again.
      await db('webhook_deliveries')
        .whereIn(
          'id',
          batch.map((d) => d.id),
        )
        .update({ status: 'succeeded', lease_expires_at: null, completed_at: now.toISOString() });
    }
    times.sort((a, b) => a - b);
    out(
      `\n${PENDING} pending over ${ENDPOINTS} enabled endpoints${SKEW ? ' (90 % on one)' : ''}, ${HISTORY} finished, ` +
        `${DISABLED} pending for a disabled endpoint: ${CLAIMS} claims of 10 took ${claimed} deliveries, ` +
        `p50 ${times[Math.floor(CLAIMS / 2)]!.toFixed(1)} ms, max ${times[CLAIMS - 1]!.toFixed(1)} ms`,
    );
  } finally {
    await db.destroy();
    if (process.env.KEEP === '1') out(`kept database ${name}`);
    else await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
    await admin.destroy();
  }
}

class Rollback extends Error {}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
