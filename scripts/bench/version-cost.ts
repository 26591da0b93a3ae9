/**
 * What API versions cost. CPU: the same reads and writes at the latest version (by header and by the
 * caller's pin) and one version back, against the real app in this process (DATABASE_URL, else in-memory
 * PGlite); CPU per request from process.cpuUsage, client included (it does the same work for every variant,
 * so the differences are the server's), medians of 3 interleaved rounds. RSS: a child process serves only
 * the latest version, another every supported one, each warmed at every version it serves; the difference
 * is what the older versions hold. Part of `make bench`; prints figures, asserts nothing.
 *
 *   npx tsx scripts/bench/version-cost.ts
 */
import { execFileSync } from 'node:child_process';
import { LATEST_API_VERSION, SUPPORTED_API_VERSIONS } from '../../src/versions/catalog';
import { loadApiVersions } from '../../src/versions/api-versions';
import { signIn, startBenchApp } from './bench-app';

const REQUESTS = Number(process.env.VERSION_COST_REQUESTS ?? 1500);
const CONCURRENCY = 8;
const PREVIOUS = SUPPORTED_API_VERSIONS[1]!;

interface Session {
  base: string;
  token: string;
  itemId: string;
}

async function prepare(base: string): Promise<Session> {
  const email = `version-cost-${Date.now()}@example.com`;
  const password = 'violet-kettle-orbit-42';
  const registered = await fetch(`${base}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, name: 'Version cost' }),
  });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
  const token = await signIn(base, email, password);
  let itemId = '';
  for (let n = 0; n < 20; n += 1) {
    const res = await fetch(`${base}/v1/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `item ${n}`, tags: ['a', 'b'], metadata: { n: String(n) } }),
    });
    itemId = ((await res.json()) as { id: string }).id;
  }
  return { base, token, itemId };
}

type Operation = 'get item' | 'list 20 items' | 'create item';

function send(session: Session, operation: Operation, version: string | undefined, n: number) {
  const headers: Record<string, string> = { authorization: `Bearer ${session.token}` };
  if (version) headers['api-version'] = version;
  if (operation === 'create item')
    return fetch(`${session.base}/v1/items`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `cost ${n}` }),
    });
  const path = operation === 'get item' ? `/v1/items/${session.itemId}` : '/v1/items?limit=20';
  return fetch(`${session.base}${path}`, { headers });
}

async function cpuPerRequest(session: Session, operation: Operation, version: string | undefined) {
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      const n = next++;
      const res = await send(session, operation, version, n);
      await res.arrayBuffer();
      if (res.status >= 300) throw new Error(`${operation} at ${version ?? 'pin'} answered ${res.status}`);
    }
  };
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / REQUESTS;
}

const print = (line: string) => process.stdout.write(`${line}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function cpu(): Promise<void> {
  const app = await startBenchApp();
  try {
    const session = await prepare(app.base);
    const variants: Array<[string, string | undefined]> = [
      [`latest (${LATEST_API_VERSION}, pinned)`, undefined],
      [`latest (Api-Version: ${LATEST_API_VERSION})`, LATEST_API_VERSION],
      [`one back (Api-Version: ${PREVIOUS})`, PREVIOUS],
    ];
    print(
      `\nAPI versions: CPU per request (us), ${REQUESTS} requests x ${CONCURRENCY} in flight, median of 3`,
    );
    print(['operation', ...variants.map(([name]) => name), 'one back vs latest'].join(' | '));
    for (const operation of ['get item', 'list 20 items', 'create item'] as const) {
      const rounds = variants.map(() => [] as number[]);
      for (let round = 0; round < 3; round += 1)
        for (const [index, [, version]] of variants.entries())
          rounds[index]!.push(await cpuPerRequest(session, operation, version));
      const [pinned, latest, previous] = rounds.map(median) as [number, number, number];
      const extra = ((previous / Math.min(pinned, latest) - 1) * 100).toFixed(1);
      print([operation, pinned.toFixed(0), latest.toFixed(0), previous.toFixed(0), `${extra} %`].join(' | '));
    }
  } finally {
    await app.stop();
  }
}

/** In a child: serve `latest-only` or `all` versions, warm each, print RSS in MB. */
async function rss(which: 'latest-only' | 'all'): Promise<void> {
  const versions = which === 'all' ? loadApiVersions() : loadApiVersions([], LATEST_API_VERSION, []);
  const app = await startBenchApp(undefined, { versions });
  try {
    const session = await prepare(app.base);
    for (const version of versions.supported)
      for (const operation of ['get item', 'list 20 items', 'create item'] as const)
        for (let n = 0; n < 50; n += 1) await (await send(session, operation, version, n)).arrayBuffer();
    (globalThis as { gc?: () => void }).gc?.();
    process.stdout.write(String(process.memoryUsage().rss / 1024 / 1024));
  } finally {
    await app.stop();
  }
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode === 'latest-only' || mode === 'all') return rss(mode);
  await cpu();
  const measure = (which: string) =>
    Number(
      execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', __filename, which], {
        encoding: 'utf8',
        env: process.env,
      }),
    );
  const only = measure('latest-only');
  const all = measure('all');
  const older = SUPPORTED_API_VERSIONS.length - 1;
  print(
    `RSS after warm-up: ${only.toFixed(0)} MB serving the latest only, ${all.toFixed(0)} MB serving all ${SUPPORTED_API_VERSIONS.length}: ` +
      `${((all - only) / older).toFixed(1)} MB per older version`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
