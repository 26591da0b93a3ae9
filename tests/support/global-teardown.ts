import { rm } from 'node:fs/promises';
import { adminConnection, TEMPLATE_ENV } from './template-database';

export default async function globalTeardown(): Promise<void> {
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
