/**
 * `make bench`: the production build against PostgreSQL, each operation next to a bare node:http + pg
 * baseline doing the same checks and durable effects in the fewest round trips (./baseline-server.mjs),
 * on the same Node. Prints one table (with round trips and commits per request, counted at the driver by
 * ./round-trips.cjs), writes it as JSON to build/bench/, and asserts nothing. See docs/performance.md.
 *
 *   DATABASE_URL   a PostgreSQL server; the bench creates its own database there and drops it after
 *   BENCH_NODE     the node binary for the servers (default: this one)
 *   BENCH_SECONDS  measured seconds per endpoint (default 10), after 3 s of warm-up
 *   BENCH_ROUNDS   rounds of (baseline, API) per same-work operation (default 1); the table has medians
 *   BENCH_FEATURES=0  skip the profiled runs that split an item read's and a keyed create's CPU by feature
 *                  (rate limit, request log, API keys, deadline, API versions, validation...: ./feature-cost.ts)
 *   BENCH_CPU      pin the servers to this core with taskset (e.g. 1)
 *   SPEC_PADDING   extra operations for the spec-size run (default 200; 0 skips it)
 *   BENCH_ONLY     run only the endpoints whose name starts with this, e.g. "GET /v1/users/me";
 *                  "start-up" only migrates (no seed) and times BENCH_STARTS (default 5) starts to ready
 *   BENCH_CPU_PROF=1  profile the API (node --cpu-prof) into build/bench/profile/ and stop after the
 *                  endpoints (see profile-summary.ts; combine with BENCH_ONLY)
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import pg from 'pg';
import { featureCostLines, featureShares } from './feature-cost';
import { collectFixtures, seed } from './fixtures';
import { measure, ROUND_TRIPS_DIR, type Row, type Scenario } from './load';
import { cpuMicros } from './proc';
import { BASELINE, markdownTable, medianRows, writeJson } from './report';
import { apiScenarios, currentUser } from './scenarios';
import { loginStorm } from './storm';
import { freePort, startServer, type RunningServer } from './servers';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 3;
const PADDING = Number(process.env.SPEC_PADDING ?? 200);
const PASSWORD = 'violet-kettle-orbit-42';
const PROFILED = process.env.BENCH_CPU_PROF === '1';
const ONLY = process.env.BENCH_ONLY ?? '';
const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const FEATURES_ON = process.env.BENCH_FEATURES !== '0';
/** The operations whose CPU is split by feature (a profiled run each). */
const FEATURE_SCENARIOS = new Set(['GET /v1/items/{item_id}', 'POST /v1/items (Idempotency-Key)']);
/** The operations with a same-work baseline in ./baseline-server.mjs. */
const SAME_WORK = new Set([
  'GET /v1/users/me',
  'GET /v1/items/{item_id}',
  'GET /v1/items?limit=20',
  'POST /v1/items (Idempotency-Key)',
  'PATCH /v1/items/{item_id} (If-Match)',
]);
const node = process.env.BENCH_NODE ?? process.execPath;
const nodeVersion = execFileSync(node, ['--version']).toString().trim();
const out = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl)
    throw new Error('make bench needs DATABASE_URL (a PostgreSQL server; it creates its own database)');
  const dbName = `bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(serverUrl);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const benchDb = new pg.Client({ connectionString: databaseUrl });
  const servers: RunningServer[] = [];
  mkdirSync('build/bench', { recursive: true });
  try {
    await benchDb.connect();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const apiPort = await freePort();
    const issuer = `http://127.0.0.1:${apiPort}`;
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      PUBLIC_BASE_URL: issuer,
      AUTH_JWT_PRIVATE_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      WEBHOOK_SECRETS_KEY: randomBytes(32).toString('base64'),
      RATE_LIMIT_AUTH_PER_IP: '1000000000',
      RATE_LIMIT_AUTH_PER_ACCOUNT: '1000000000',
      RATE_LIMIT_CALLER_USER: '1000000000',
      RATE_LIMIT_CALLER_CLIENT: '1000000000',
      RATE_LIMIT_CALLER_ANONYMOUS: '1000000000',
      LOG_LEVEL: 'info',
      SEED_PASSWORD: PASSWORD,
    };
    out(
      `Node ${nodeVersion}; ${SECONDS} s per endpoint after ${WARMUP_SECONDS} s warm-up; load average ${loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')}`,
    );
    execFileSync(node, ['dist/src/cli.js', 'migrate'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (ONLY === 'start-up') {
      await startUps(env, apiPort);
      return;
    }
    const seedStarted = Date.now();
    seed({ node, env, items: 100_000, users: 10_000 });
    await benchDb.query('ANALYZE');
    out(`seeded 100,000 items and 10,000 users in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`);

    const counted = ['-r', './scripts/bench/round-trips.cjs'];
    mkdirSync(ROUND_TRIPS_DIR, { recursive: true });
    const countedEnv = { ...env, BENCH_ROUND_TRIPS_DIR: ROUND_TRIPS_DIR };
    const api = await startServer({
      name: 'api',
      node,
      args: [
        ...(PROFILED ? ['--cpu-prof', '--cpu-prof-dir=build/bench/profile'] : []),
        ...counted,
        'dist/src/main.js',
      ],
      env: countedEnv,
      port: apiPort,
      logFile: 'build/bench/api.log',
    });
    servers.push(api);
    const fixtures = await collectFixtures(api.url, PASSWORD, 10_000);
    const baselineEnv = {
      ...countedEnv,
      AUTH_JWT_PUBLIC_KEY: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      AUTH_ISSUER: issuer,
      AUTH_AUDIENCE: 'partner-api',
    };
    const startBaseline = async (name: string, extra: NodeJS.ProcessEnv = {}) => {
      const port = await freePort();
      const server = await startServer({
        name,
        node,
        args: [...counted, 'scripts/bench/baseline-server.mjs'],
        env: { ...baselineEnv, ...extra, BASELINE_PORT: String(port) },
        port,
        logFile: `build/bench/${name.replaceAll(/\W+/g, '-')}.log`,
      });
      servers.push(server);
      return server;
    };
    const baseline = await startBaseline(BASELINE);

    const run = (server: RunningServer, scenario: Scenario) =>
      measure({ server, scenario, admin: benchDb, warmupSeconds: WARMUP_SECONDS, seconds: SECONDS });
    // Each operation next to its same-work baseline, baseline first, in rounds; the table has medians.
    const scenarios = apiScenarios(fixtures, async (ids) => {
      const { rows: versions } = await benchDb.query<{ id: string; version: number }>(
        'SELECT id, version FROM items WHERE id = ANY($1::uuid[])',
        [ids],
      );
      return new Map(versions.map((row) => [row.id, row.version]));
    });
    const sameWork = scenarios.filter(
      (scenario) => SAME_WORK.has(scenario.name) && scenario.name.startsWith(ONLY),
    );
    const rounds: Row[][] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const rows: Row[] = [];
      for (const scenario of sameWork) {
        rows.push(await run(baseline, scenario));
        rows.push(await run(api, scenario));
      }
      rounds.push(rows);
    }
    await baseline.stop();
    const rows = rounds.length > 0 && rounds[0]!.length > 0 ? medianRows(rounds) : [];
    // The baseline of earlier rounds verified every token anew: kept as a row of its own.
    if ('GET /v1/users/me'.startsWith(ONLY)) {
      const uncached = await startBaseline('baseline, tokens not cached', { BASELINE_TOKEN_CACHE: '0' });
      rows.splice(1, 0, await run(uncached, currentUser(fixtures)));
      await uncached.stop();
    }
    for (const scenario of scenarios) {
      if (!SAME_WORK.has(scenario.name) && scenario.name.startsWith(ONLY))
        rows.push(await run(api, scenario));
    }
    if (PROFILED) {
      await api.stop();
      out(markdownTable(rows));
      out('profile written to build/bench/profile/');
      return;
    }

    const storm = await loginStorm(api.url, fixtures);
    const start = { readyMs: api.readyMs, idleRssMb: api.idleRssMb };
    await api.stop();

    let padding: { operations: number; row: Row; cpuChange: number } | undefined;
    const apiCurrentUser = rows.find(
      (row) => row.server === 'api' && row.endpoint === currentUser(fixtures).name,
    );
    if (PADDING > 0 && apiCurrentUser) {
      const padded = await startServer({
        name: `api + ${PADDING} operations`,
        node,
        args: [...counted, 'scripts/bench/padded-server.mjs'],
        env: { ...countedEnv, SPEC_PADDING: String(PADDING) },
        port: apiPort,
        logFile: 'build/bench/padded.log',
      });
      servers.push(padded);
      const row = await run(padded, currentUser(fixtures));
      await padded.stop();
      rows.splice(rows.indexOf(apiCurrentUser) + 1, 0, row);
      padding = {
        operations: PADDING,
        row,
        cpuChange: row.serverCpuUsPerReq / apiCurrentUser.serverCpuUsPerReq - 1,
      };
    }

    out();
    out(markdownTable(rows));
    out();
    out(`start-up: ready in ${start.readyMs.toFixed(0)} ms, idle RSS ${start.idleRssMb.toFixed(0)} MB`);
    out(
      `login storm: /v1/users/me p99 ${storm.unloadedP99Ms} ms alone, ${storm.stormP99Ms} ms beside 20 concurrent password grants (${storm.ratio.toFixed(2)}x)`,
    );
    if (padding)
      out(
        `spec size: ${PADDING} more operations change /v1/users/me server CPU per request by ${(padding.cpuChange * 100).toFixed(1)}%`,
      );

    // What each feature on the request path costs: a profiled API per operation, its samples attributed
    // to the features (./feature-cost.ts), times the unprofiled run's CPU per request above.
    const features: Record<string, Record<string, number>> = {};
    for (const scenario of FEATURES_ON ? scenarios.filter((s) => FEATURE_SCENARIOS.has(s.name)) : []) {
      const row = rows.find((r) => r.server === 'api' && r.endpoint === scenario.name);
      if (!row) continue;
      const dir = `build/bench/features/${scenario.name.replaceAll(/\W+/g, '-')}`;
      rmSync(dir, { recursive: true, force: true });
      // Node writes the profile into an existing directory only.
      mkdirSync(dir, { recursive: true });
      const profiled = await startServer({
        name: 'api (profiled)',
        node,
        // With the counter too: it is what answers the bench's SIGUSR2 (whose default ends a process).
        args: ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...counted, 'dist/src/main.js'],
        env: countedEnv,
        port: apiPort,
        logFile: 'build/bench/api-profiled.log',
      });
      servers.push(profiled);
      await run(profiled, scenario);
      await profiled.stop();
      const [file] = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
      if (!file) continue;
      const profile = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as Parameters<
        typeof featureShares
      >[0];
      const shares = featureShares(profile, SECONDS);
      features[scenario.name] = Object.fromEntries(shares);
      out();
      out(
        `per-request cost of each feature, ${scenario.name} (${row.serverCpuUsPerReq.toFixed(0)} us CPU/req):`,
      );
      for (const line of featureCostLines(shares, row.serverCpuUsPerReq)) out(`  ${line}`);
    }
    const file = `build/bench/bench-node${nodeVersion.split('.')[0]!.slice(1)}.json`;
    writeJson(file, {
      node: nodeVersion,
      seconds: SECONDS,
      loadAverage: loadavg(),
      rounds: ROUNDS,
      rows,
      start,
      storm,
      padding,
      features,
    });
    out(`written to ${file}`);
  } finally {
    for (const server of servers) await server.stop();
    await benchDb.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

/** Starts the API one at a time, each on the already-migrated database, and reports spawn to ready. */
async function startUps(env: NodeJS.ProcessEnv, port: number): Promise<void> {
  const readyMs: number[] = [];
  for (let n = 0; n < STARTS; n++) {
    const api = await startServer({
      name: 'api',
      node,
      args: [...(PROFILED ? ['--cpu-prof', '--cpu-prof-dir=build/bench/profile'] : []), 'dist/src/main.js'],
      env,
      port,
      logFile: 'build/bench/api.log',
    });
    // What the start cost, whatever else the machine was running meanwhile.
    const cpuMs = cpuMicros(api.pid) / 1000;
    await api.stop();
    readyMs.push(api.readyMs);
    out(
      `start-up ${n + 1}: ready in ${api.readyMs.toFixed(0)} ms, ${cpuMs.toFixed(0)} ms of CPU, idle RSS ${api.idleRssMb.toFixed(0)} MB`,
    );
  }
  const sorted = [...readyMs].sort((a, b) => a - b);
  out(
    `start-up: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms of ${STARTS}; load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
