import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import knex, { type Knex } from 'knex';
import { killAll, startMain, type MainProcess } from './main-process';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy';
import { adminConnection, newDatabaseName, urlForDatabase } from './template-database';

export const CLUSTER_BASE_URL = 'http://partner-api.cluster.test';

export interface Cluster {
  proxy: RoundRobinProxy;
  instances: MainProcess[];
  /** A direct connection to the cluster's database, for asserting what was committed. */
  db: Knex;
  /** The address the proxy reports for requests that carry no X-Forwarded-For: unique to this run. */
  clientAddress: string;
  close(): Promise<void>;
}

/**
 * An address in 198.18.0.0/15 (RFC 2544, never routed) drawn at random, so the rate-limit counters a run
 * creates in a shared Redis are its own.
 */
export function uniqueClientAddress(): string {
  const [a, b, c] = randomBytes(3);
  return `198.${18 + (a! % 2)}.${b!}.${(c! % 254) + 1}`;
}

/**
 * `size` real API processes started at the same moment on a new, empty PostgreSQL database (created on
 * DATABASE_URL's server, dropped by `close`), sharing one signing key, one Redis and one configuration,
 * production-like, each migrating on start, behind a round-robin proxy. Resolves once every instance
 * has logged that it listens.
 */
export async function startCluster(options: {
  size: number;
  env?: Record<string, string>;
}): Promise<Cluster> {
  const serverUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!serverUrl || !redisUrl) {
    throw new Error('the cluster tier needs DATABASE_URL (a PostgreSQL server) and REDIS_URL');
  }
  const name = newDatabaseName('cluster');
  const admin = adminConnection(serverUrl);
  await admin.raw('CREATE DATABASE ??', [name]);
  const databaseUrl = urlForDatabase(serverUrl, name);
  const db = knex({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 4 } });
  const children: ChildProcess[] = [];
  let proxy: RoundRobinProxy | undefined;
  const close = async () => {
    await killAll(children);
    await proxy?.close();
    await db.destroy();
    await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
    await admin.destroy();
  };
  try {
    const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const webhookSecretsKey = randomBytes(32).toString('base64');
    const env = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: databaseUrl,
      DB_MIGRATE_ON_START: 'true',
      DB_POOL_MAX: '5',
      REDIS_URL: redisUrl,
      PUBLIC_BASE_URL: CLUSTER_BASE_URL,
      AUTH_JWT_PRIVATE_KEY: signingKey,
      WEBHOOK_SECRETS_KEY: webhookSecretsKey,
      // The proxy is on loopback; the address it forwards is the client's.
      TRUST_PROXY: 'loopback',
      STARTUP_TIMEOUT_MS: '120000',
      ...options.env,
    };
    const instances = Array.from({ length: options.size }, () => startMain(env, children));
    const urls = await Promise.all(instances.map((instance) => instance.url()));
    const clientAddress = uniqueClientAddress();
    proxy = await startRoundRobinProxy({ targets: urls, forwardedFor: clientAddress });
    return { proxy, instances, db, clientAddress, close };
  } catch (error) {
    await close();
    throw error;
  }
}
