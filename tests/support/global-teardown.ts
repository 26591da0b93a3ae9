import { rm } from 'node:fs/promises';
import { CODE_SAMPLES_DIAGNOSTICS_ENV } from './code-samples-typecheck';
import { adminConnection, TEMPLATE_ENV } from './template-database';

export default async function globalTeardown(): Promise<void> {
  const diagnostics = process.env[CODE_SAMPLES_DIAGNOSTICS_ENV];
  if (diagnostics) await rm(diagnostics, { force: true });
  const template = process.env[TEMPLATE_ENV];
  if (!template) return;
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    const admin = adminConnection(databaseUrl);
    await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [template]);
    await admin.destroy();
  } else {
    await rm(template, { force: true });
  }
}
