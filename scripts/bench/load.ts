/** Drives one endpoint with autocannon and reads what it cost the server and PostgreSQL. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import type pg from 'pg';
import { cpuSnapshot, cpuSpent, cpuMicros, rssMb } from './proc';

export interface Scenario {
  name: string;
  connections: number;
  requests: autocannon.Request[];
  /** Run before each drive (warm-up and measured run): state the requests rotate through, made current. */
  prepare?: () => Promise<void>;
}

export interface Row {
  endpoint: string;
  server: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  requests: number;
  serverCpuUsPerReq: number;
  pgCpuUsPerReq: number;
  /** Driver-side counts (./round-trips.cjs); undefined for a server started without it. */
  roundTripsPerReq?: number;
  commitsPerReq?: number;
  rssMb: number;
}

export const ROUND_TRIPS_DIR = 'build/bench/round-trips';

/** The server's round trips and commits so far, as ./round-trips.cjs writes them on SIGUSR2. */
async function roundTrips(pid: number): Promise<{ roundTrips: number; commits: number } | undefined> {
  const file = `${ROUND_TRIPS_DIR}/${pid}.json`;
  rmSync(file, { force: true });
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return undefined;
  }
  for (let waited = 0; waited < 1000; waited += 10) {
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as { roundTrips: number; commits: number };
      } catch {
        // Still being written.
      }
    }
    await sleep(10);
  }
  return undefined;
}

export function drive(url: string, scenario: Scenario, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: scenario.connections,
    duration: seconds,
    requests: scenario.requests,
  });
}

/** The PostgreSQL backends serving the bench database, other than the bench's own connection. */
async function backendPids(admin: pg.Client): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return rows.map((row) => row.pid);
}

/** A warm-up, then a measured run; CPU is the kernel's count for the server and its database backends. */
export async function measure(options: {
  server: { name: string; pid: number; url: string };
  scenario: Scenario;
  admin: pg.Client;
  warmupSeconds: number;
  seconds: number;
}): Promise<Row> {
  const { server, scenario, admin } = options;
  await scenario.prepare?.();
  await drive(server.url, scenario, options.warmupSeconds);
  await scenario.prepare?.();
  const tripsBefore = await roundTrips(server.pid);
  const pgBefore = cpuSnapshot(await backendPids(admin));
  const serverBefore = cpuMicros(server.pid);
  const result = await drive(server.url, scenario, options.seconds);
  const serverSpent = cpuMicros(server.pid) - serverBefore;
  const pgSpent = cpuSpent(pgBefore, cpuSnapshot(await backendPids(admin)));
  const tripsAfter = await roundTrips(server.pid);
  const requests = result.requests.total;
  const perRequest = (count: 'roundTrips' | 'commits') =>
    tripsBefore && tripsAfter && requests ? (tripsAfter[count] - tripsBefore[count]) / requests : undefined;
  return {
    endpoint: scenario.name,
    server: server.name,
    reqPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    requests,
    serverCpuUsPerReq: requests ? serverSpent / requests : 0,
    pgCpuUsPerReq: requests ? pgSpent / requests : 0,
    roundTripsPerReq: perRequest('roundTrips'),
    commitsPerReq: perRequest('commits'),
    rssMb: rssMb(server.pid),
  };
}
