import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@jest/types';
import knex from 'knex';
import pino from 'pino';
import { createPglite, wrapPglite } from '../../src/infrastructure/database';
import { migrateToLatest } from '../../src/infrastructure/migrations';
import {
  CODE_SAMPLES_DIAGNOSTICS_ENV,
  CODE_SAMPLES_TEST,
  typeCheckCodeSamples,
} from './code-samples-typecheck';
import {
  adminConnection,
  newDatabaseName,
  newPgliteTemplatePath,
  TEMPLATE_ENV,
  urlForDatabase,
} from './template-database';

/**
 * Migrates one template database per run; every test file then starts from a copy of it. Meanwhile, on a
 * second core that would otherwise idle until the workers start, type-checks the code samples for
 * tests/unit/code-samples.test.ts, so seconds of compiler CPU run under no test's timeout.
 */
export default async function globalSetup(
  globalConfig: Config.GlobalConfig,
  projectConfig: Config.ProjectConfig,
): Promise<void> {
  await Promise.all([
    migrateTemplate(),
    runsCodeSamplesTest(globalConfig, projectConfig) ? checkCodeSamples() : undefined,
  ]);
}

async function migrateTemplate(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    const name = newDatabaseName('template');
    const admin = adminConnection(databaseUrl);
    await admin.raw('CREATE DATABASE ??', [name]);
    await admin.destroy();
    const db = knex({
      client: 'pg',
      connection: urlForDatabase(databaseUrl, name),
      pool: { min: 0, max: 1 },
    });
    await migrateToLatest(db);
    await db.destroy();
    process.env[TEMPLATE_ENV] = name;
    return;
  }
  const pglite = await createPglite({});
  const handle = wrapPglite(pglite);
  await migrateToLatest(handle.db);
  const dump = await pglite.dumpDataDir('none');
  const path = newPgliteTemplatePath();
  await writeFile(path, Buffer.from(await dump.arrayBuffer()));
  await handle.close();
  process.env[TEMPLATE_ENV] = path;
  pino().debug({ path }, 'pglite template ready');
}

/** Whether this run may include the samples test: its project's roots hold it and no path pattern excludes it. */
function runsCodeSamplesTest(
  globalConfig: Config.GlobalConfig,
  projectConfig: Config.ProjectConfig,
): boolean {
  if (!projectConfig.roots.some((root) => CODE_SAMPLES_TEST.startsWith(`${root}/`))) return false;
  const patterns = globalConfig.testPathPatterns;
  return (
    !patterns.isSet() || patterns.toExecutor({ rootDir: globalConfig.rootDir }).isMatch(CODE_SAMPLES_TEST)
  );
}

/** On failure the variable stays unset and the test checks the samples itself, reporting what went wrong. */
async function checkCodeSamples(): Promise<void> {
  try {
    const diagnostics = await typeCheckCodeSamples();
    const path = join(
      tmpdir(),
      `partner-api-code-samples-${process.pid}-${randomBytes(4).toString('hex')}.json`,
    );
    await writeFile(path, JSON.stringify(diagnostics));
    process.env[CODE_SAMPLES_DIAGNOSTICS_ENV] = path;
  } catch {
    delete process.env[CODE_SAMPLES_DIAGNOSTICS_ENV];
  }
}
