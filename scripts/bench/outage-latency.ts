/**
 * How long a request takes to be answered when the database breaks, with the configuration's defaults (unless
 * the environment sets otherwise): the real app behind a fault-injecting TCP proxy on a PostgreSQL server.
 * For each fault (packets vanish, a 2 s round trip, connections refused) it times a read, a write and a
 * write already waiting on a row lock when the fault begins, checks that every write answered 503 left
 * nothing behind, and times the recovery after the fault ends; then a lock held longer than any request
 * may wait, with the network healthy.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx scripts/bench/outage-latency.ts
 *
 * It creates a scratch database on that server and drops it afterwards.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { openDatabase } from '../../src/infrastructure/database';
import { migrateToLatest } from '../../src/infrastructure/migrations';
import { loadSigningKeys } from '../../src/infrastructure/signing-keys';
import { loadConfig } from '../../src/internal/config';
import { createUser } from '../../tests/support/identity';
import { startTcpProxy, type TcpProxy } from '../../tests/support/tcp-proxy';
import { adminConnection, newDatabaseName, urlForDatabase } from '../../tests/support/template-database';

const serverUrl = process.env.DATABASE_URL;

async function main(serverUrl: string): Promise<void> {
  const name = newDatabaseName('outage');
  const admin = adminConnection(serverUrl);
  await admin.raw('CREATE DATABASE ??', [name]);
  const direct = new URL(urlForDatabase(serverUrl, name));
  const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const viaProxy = new URL(direct);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);

  // Production's defaults for everything that bounds time, unless the environment sets them (REQUEST_DEADLINE_MS,
  // DB_*); besides the database, only what production refuses to start without.
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: viaProxy.toString(),
    PUBLIC_BASE_URL: 'http://api.test',
    AUTH_JWT_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString(),
    WEBHOOK_SECRETS_KEY: randomBytes(32).toString('base64'),
    RATE_LIMIT_AUTH_PER_IP: '1000000',
    LOG_LEVEL: 'silent',
  });
  const logger = pino({ level: 'silent' });
  const database = await openDatabase(config.database, logger);
  await migrateToLatest(database.db);
  const signingKeys = loadSigningKeys(config.auth, logger);
  const app = createApp({
    config,
    logger,
    db: database.db,
    signingKeys,
  });
  const locker = adminConnection(direct.toString());
  const watcher = adminConnection(direct.toString());
  const user = await createUser({ app, database });
  const bearer = { Authorization: `Bearer ${user.accessToken}` };

  interface Timed {
    status: number;
    ms: number;
  }
  async function timed(action: () => PromiseLike<{ status: number }>): Promise<Timed> {
    const started = performance.now();
    const { status } = await action();
    return { status, ms: performance.now() - started };
  }
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function createItem(itemName: string): Promise<string> {
    const res = await request(app).post('/v1/items').set(bearer).send({ name: itemName }).expect(201);
    return (res.body as { id: string }).id;
  }
  const rename = (id: string, to: string) =>
    request(app)
      .patch(`/v1/items/${id}`)
      .set(bearer)
      .set('If-Match', '"1"')
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ name: to }));

  /** Holds the item's row lock on a connection of its own (not through the proxy) until `release()`. */
  async function lockRow(id: string): Promise<{ release(): Promise<void> }> {
    const trx = await locker.transaction();
    await trx('items').where({ id }).forUpdate().first();
    return { release: async () => void (await trx.rollback()) };
  }
  async function untilWaitingOnLock(): Promise<void> {
    for (;;) {
      const { rows } = await watcher.raw<{ rows: unknown[] }>(
        `select 1 from pg_stat_activity where datname = ? and wait_event_type = 'Lock'`,
        [name],
      );
      if (rows.length > 0) return;
      await sleep(20);
    }
  }
  async function untilServing(): Promise<number> {
    const started = performance.now();
    while ((await request(app).get('/v1/items').set(bearer)).status !== 200) await sleep(50);
    return performance.now() - started;
  }
  const itemsNamed = async (itemName: string) =>
    Number((await watcher('items').where({ name: itemName }).count({ n: '*' }))[0]!.n);

  const faults: Array<[string, (p: TcpProxy) => void]> = [
    ['black hole', (p) => p.blackHole()],
    ['2 s round trip', (p) => p.slow(1000)],
    ['refused', (p) => p.refuse()],
  ];
  const rows: string[] = [];
  for (const [fault, apply] of faults) {
    await untilServing();
    // Warm connections in the pool, as under traffic.
    await Promise.all([1, 2, 3, 4].map(() => request(app).get('/v1/items').set(bearer).expect(200)));
    // A second instance whose pool is empty: its first request must open a connection.
    const cold = await openDatabase(config.database, logger);
    const coldApp = createApp({ config, logger, db: cold.db, signingKeys });
    const locked = await createItem(`locked-${fault}`);
    const lock = await lockRow(locked);
    const inFlight = timed(() => rename(locked, `renamed-${fault}`));
    await untilWaitingOnLock();
    apply(proxy);
    const written = `written-${fault}`;
    const [read, coldRead, write] = await Promise.all([
      timed(() => request(app).get('/v1/items').set(bearer)),
      timed(() => request(coldApp).get('/v1/items').set(bearer)),
      timed(() => request(app).post('/v1/items').set(bearer).send({ name: written })),
      sleep(100).then(() => lock.release()),
    ]);
    const flight = await inFlight;
    proxy.heal();
    await cold.close();
    const recovery = await untilServing();
    const [row] = await watcher('items').where({ id: locked }).select<Array<{ name: string }>>('name');
    const kept = row?.name;
    const consistent =
      (write.status === 201) === ((await itemsNamed(written)) === 1) &&
      (flight.status === 200) === (kept === `renamed-${fault}`);
    rows.push(
      `| ${fault} | ${read.status} in ${seconds(read.ms)} | ${coldRead.status} in ${seconds(coldRead.ms)} | ${write.status} in ${seconds(write.ms)} | ` +
        `${flight.status} in ${seconds(flight.ms)} | ${consistent ? 'yes' : 'NO'} | ${seconds(recovery)} |`,
    );
  }
  const held = await createItem('held');
  const lock = await lockRow(held);
  const lockWait = await timed(() => rename(held, 'held-renamed'));
  await lock.release();
  rows.push(
    `| row lock held until the write gives up | | | ${lockWait.status} in ${seconds(lockWait.ms)} | | | |`,
  );

  process.stdout.write(
    '| fault | read | read, new connection | write | in-flight write | 503 wrote nothing | serving again after |\n' +
      '| --- | --- | --- | --- | --- | --- | --- |\n' +
      `${rows.join('\n')}\n`,
  );
  await Promise.all([database.close(), locker.destroy(), watcher.destroy(), proxy.close()]);
  await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
  await admin.destroy();
}

if (!serverUrl) throw new Error('DATABASE_URL must name a PostgreSQL server');
main(serverUrl).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
