/**
 * Keyset pagination cost: p50 latency of the first page of GET /v1/items and of a page 1,000 pages deep,
 * with 100,000 items for one owner. Prints figures; asserts nothing.
 *
 *   npx tsx scripts/bench/items-pagination.ts                      # embedded PGlite, in memory
 *   DATABASE_URL=postgres://.../scratch npx tsx scripts/bench/items-pagination.ts   # writes to that database
 */
import { performance } from 'node:perf_hooks';
import { createPasswordHasher } from '../../src/infrastructure/password-hasher';
import { AuditRepository } from '../../src/repositories/audit.repository';
import { WebhookEventsRepository } from '../../src/repositories/webhook-events.repository';
import { ItemsRepository } from '../../src/repositories/items.repository';
import { UsersRepository } from '../../src/repositories/users.repository';
import { seedItems } from '../../src/services/seed.service';
import { createEventOutbox } from '../../src/services/event-outbox';
import { createUserCreation } from '../../src/services/user-creation.service';
import { signIn, startBenchApp } from './bench-app';

const ITEMS = Number(process.env.ITEMS ?? 100_000);
const PAGE_SIZE = 20;
const DEEP_PAGE = 1000;
const SAMPLES = Number(process.env.SAMPLES ?? 50);
const PASSWORD = 'violet-kettle-orbit-42';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.99) - 1]!;

async function main(): Promise<void> {
  const email = `bench-${Date.now()}@example.com`;
  let seedSeconds = 0;
  const bench = await startBenchApp(async ({ db }) => {
    const seedStarted = performance.now();
    const users = new UsersRepository({ db });
    const audit = new AuditRepository({ db });
    const outbox = createEventOutbox({ webhookEvents: new WebhookEventsRepository({ db }) });
    await seedItems(
      {
        db,
        users,
        audit,
        outbox,
        items: new ItemsRepository({ db }),
        userCreation: createUserCreation({ users, audit, outbox, hasher: createPasswordHasher() }),
      },
      { email, count: ITEMS, password: PASSWORD },
    );
    await db.raw('ANALYZE items');
    seedSeconds = (performance.now() - seedStarted) / 1000;
  });
  const { base, database } = bench;
  const headers = { authorization: `Bearer ${await signIn(base, email, PASSWORD)}` };

  const page = async (cursor: string | null): Promise<{ ms: number; next: string | null }> => {
    const started = performance.now();
    const res = await fetch(`${base}/v1/items?limit=${PAGE_SIZE}${cursor ? `&cursor=${cursor}` : ''}`, {
      headers,
    });
    const body = (await res.json()) as { next_cursor: string | null };
    if (res.status !== 200) throw new Error(`GET /v1/items answered ${res.status}`);
    return { ms: performance.now() - started, next: body.next_cursor };
  };

  let cursor: string | null = null;
  for (let n = 1; n < DEEP_PAGE; n += 1) cursor = (await page(cursor)).next;
  const deepCursor = cursor;

  const first: number[] = [];
  const deep: number[] = [];
  for (let i = 0; i < SAMPLES; i += 1) {
    first.push((await page(null)).ms);
    deep.push((await page(deepCursor)).ms);
  }
  const plan = await database.db.raw<{ rows: Array<Record<string, string>> }>(
    `EXPLAIN SELECT id FROM items WHERE owner_id = (SELECT owner_id FROM items LIMIT 1) AND (created_at, id) < (now(), gen_random_uuid()) ORDER BY created_at DESC, id DESC LIMIT 21`,
  );

  process.stdout.write(
    [
      `driver: ${bench.config.database.driver}; ${ITEMS} items seeded in ${seedSeconds.toFixed(1)} s; page size ${PAGE_SIZE}; ${SAMPLES} samples each`,
      `page 1:     p50 ${median(first).toFixed(2)} ms, p99 ${p99(first).toFixed(2)} ms`,
      `page ${DEEP_PAGE}:  p50 ${median(deep).toFixed(2)} ms, p99 ${p99(deep).toFixed(2)} ms`,
      `plan: ${plan.rows.map((row) => Object.values(row)[0]).join(' | ')}`,
    ].join('\n') + '\n',
  );
  await bench.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
