import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import type { Knex } from 'knex';
import request from 'supertest';

/** The app in this process, or the URL of a running instance (the process and cluster tiers). */
export type Target = Express | string;

/** Where users are created: through `app`, promoted to administrator in `database` when asked. */
export interface IdentityTarget {
  app: Target;
  database: { db: Knex };
}

export const PASSWORD = 'violet-kettle-orbit-42';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomUUID()}@example.com`;
}

export function passwordGrant(app: Target, email: string, password: string, scope?: string) {
  return request(app)
    .post('/v1/auth/token')
    .type('form')
    .send({ grant_type: 'password', username: email, password, ...(scope ? { scope } : {}) });
}

/** Registers a user through the API and signs them in; `role: 'admin'` promotes them in the database first. */
export async function createUser(
  t: IdentityTarget,
  options: { role?: 'user' | 'admin'; scope?: string } = {},
): Promise<TestUser> {
  const email = uniqueEmail(options.role ?? 'user');
  const registered = await request(t.app)
    .post('/v1/auth/register')
    .send({ email, password: PASSWORD, name: 'Test User' })
    .expect(201);
  const id = (registered.body as { id: string }).id;
  if (options.role === 'admin') await t.database.db('users').where({ id }).update({ role: 'admin' });
  const tokens = await passwordGrant(t.app, email, PASSWORD, options.scope).expect(200);
  const body = tokens.body as { access_token: string; refresh_token: string };
  return { id, email, password: PASSWORD, accessToken: body.access_token, refreshToken: body.refresh_token };
}

export interface TestClient {
  clientId: string;
  clientSecret: string;
  accessToken: string;
}

export async function createPartnerClient(
  t: IdentityTarget,
  admin: TestUser,
  scopes = ['items:read', 'items:write'],
): Promise<TestClient> {
  const created = await request(t.app)
    .post('/v1/clients')
    .auth(admin.accessToken, { type: 'bearer' })
    .send({ name: 'Partner', scopes })
    .expect(201);
  const { client_id: clientId, client_secret: clientSecret } = created.body as {
    client_id: string;
    client_secret: string;
  };
  const token = await request(t.app)
    .post('/v1/auth/token')
    .type('form')
    .send({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret })
    .expect(200);
  return { clientId, clientSecret, accessToken: (token.body as { access_token: string }).access_token };
}
