/**
 * `make load`: a mixed workload against a running instance for a bounded time, printing throughput,
 * latency percentiles and errors per operation and the server's RSS before, during and after. Writes the
 * same report as JSON to build/load/. Asserts nothing; see docs/performance.md, "Load and soak".
 *
 *   LOAD_URL          the instance (default http://127.0.0.1:3000)
 *   LOAD_DURATION     how long: seconds, or with a unit, e.g. 90s, 5m (default 60s)
 *   LOAD_CONNECTIONS  concurrent connections for reads and writes (default 16)
 *   LOAD_GRANTS_PER_MINUTE  password and refresh grants per minute, alternating (default 20: under the
 *                     token endpoint's default 30 per address; raise RATE_LIMIT_AUTH_PER_IP to go higher)
 *   LOAD_HANGUP_CLIENTS  clients that hang up mid-write and retry with the same Idempotency-Key (default 2);
 *                     the report counts keys that wrote twice or were answered without a write (both must be 0)
 *   LOAD_SAMPLE_SECONDS  how often RSS is sampled during the run (default 5)
 *   LOAD_METRICS_URL  read RSS from this Prometheus endpoint (process_resident_memory_bytes) ...
 *   LOAD_PID          ... or from /proc/<pid>; by default from the process listening on LOAD_URL's port
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { drive } from '../bench/load';
import { formatTable, writeJson } from '../bench/report';
import { driveHangups } from './hangups';
import { rssProbe } from './rss';
import {
  driveGrants,
  prepareSession,
  readWriteScenarios,
  statsFromAutocannon,
  type OperationStats,
} from './workload';

const out = (line = '') => process.stdout.write(`${line}\n`);
// After the load stops, before the last RSS reading: in-flight work finishes and timers settle.
const SETTLE_MS = 5000;

function seconds(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(value.trim());
  if (!match) throw new Error(`LOAD_DURATION: expected seconds or a number with s, m or h, got ${value}`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
}

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name}: expected a positive number`);
  return value;
}

async function main(): Promise<void> {
  const base = (process.env.LOAD_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  const duration = seconds(process.env.LOAD_DURATION ?? '60');
  const connections = Math.round(positive('LOAD_CONNECTIONS', 16));
  const grantsPerMinute = positive('LOAD_GRANTS_PER_MINUTE', 20);
  const sampleMs = positive('LOAD_SAMPLE_SECONDS', 5) * 1000;
  const hangupClients = Math.round(positive('LOAD_HANGUP_CLIENTS', 2));

  const ready = await fetch(`${base}/health/ready`).then(
    (res) => res.status,
    (error: Error) => error.message,
  );
  if (ready !== 200) throw new Error(`${base}/health/ready answered ${ready}: start the API first`);
  const probe = rssProbe(new URL(base));
  out(`== make load: ${base} for ${duration} s, ${connections} connections, ${grantsPerMinute} grants/min`);
  out(`== RSS from ${probe?.source ?? 'nowhere (set LOAD_PID or LOAD_METRICS_URL)'}`);

  const session = await prepareSession(base);
  const rssBefore = await probe?.read();
  const samples: Array<{ atSeconds: number; rssMb: number }> = [];
  const started = performance.now();
  const deadline = started + duration * 1000;
  let running = true;
  const sampler = (async () => {
    while (running) {
      await delay(sampleMs);
      const rss = running ? await probe?.read() : undefined;
      if (rss !== undefined) samples.push({ atSeconds: (performance.now() - started) / 1000, rssMb: rss });
    }
  })();

  const scenarios = readWriteScenarios(session, connections);
  const [hangups, grants, ...driven] = await Promise.all([
    driveHangups(base, session, hangupClients, deadline),
    driveGrants(base, session, grantsPerMinute, deadline),
    ...scenarios.map((scenario) => drive(base, scenario, duration)),
  ]);
  running = false;
  const rows: OperationStats[] = [
    ...scenarios.map((scenario, i) => statsFromAutocannon(scenario.name, driven[i]!)),
    ...grants,
  ];
  await sampler;
  await delay(SETTLE_MS);
  const rssAfter = await probe?.read();

  const totalRequests = rows.reduce((sum, row) => sum + row.requests, 0);
  out();
  out(
    formatTable(
      ['operation', 'requests', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', '2xx', '429', 'errors'],
      rows.map((row) => [
        row.operation,
        String(row.requests),
        row.reqPerSec.toFixed(1),
        row.p50Ms.toFixed(1),
        row.p90Ms.toFixed(1),
        row.p99Ms.toFixed(1),
        String(count(row, (code) => code >= 200 && code < 300)),
        String(count(row, (code) => code === 429)),
        errorsOf(row),
      ]),
    ),
  );
  const during = samples.map((sample) => sample.rssMb);
  const mb = (value: number | undefined) =>
    value === undefined || !Number.isFinite(value) ? '?' : `${value.toFixed(0)} MB`;
  out();
  out(`total: ${totalRequests} requests, ${(totalRequests / duration).toFixed(1)} req/s`);
  out(
    `hang-up retries (${hangups.clients} clients): ${hangups.keys} keys, ${hangups.hangUps} hang-ups, answers ` +
      `${JSON.stringify(hangups.statuses)}; keys written twice: ${hangups.writtenTwice}, answered without ` +
      `a write: ${hangups.answeredWithoutItem}`,
  );
  out(
    `RSS: before ${mb(rssBefore)}; during (${during.length} samples) min ${mb(Math.min(...during))}, ` +
      `max ${mb(Math.max(...during))}, last ${mb(during.at(-1))}; after ${mb(rssAfter)} (${SETTLE_MS / 1000} s after the load)`,
  );
  const file = `build/load/load-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeJson(file, {
    url: base,
    durationSeconds: duration,
    connections,
    grantsPerMinute,
    rssSource: probe?.source ?? null,
    totalRequests,
    reqPerSec: totalRequests / duration,
    operations: rows,
    hangups,
    rssMb: { before: rssBefore ?? null, during: samples, after: rssAfter ?? null },
  });
  out(`report: ${file}`);
}

function count(row: OperationStats, matches: (code: number) => boolean): number {
  return Object.entries(row.statuses)
    .filter(([code]) => matches(Number(code)))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** Every answer other than 2xx and 429, by status, and requests that got none. */
function errorsOf(row: OperationStats): string {
  const parts = Object.entries(row.statuses)
    .filter(([code]) => !(Number(code) >= 200 && Number(code) < 300) && Number(code) !== 429)
    .map(([code, n]) => `${n}x${code}`);
  if (row.noResponse > 0) parts.push(`${row.noResponse} no response`);
  return parts.length > 0 ? parts.join(', ') : '0';
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
