/**
 * OWASP API5:2023 Broken Function Level Authorization: administrative operations need administrative
 * scopes, checked on every request against the principal as it is now.
 */
import request from 'supertest';
import type { Test } from 'supertest';
import { expectProblem } from '../support/contract';
import { createPartnerClient, createUser, passwordGrant, PASSWORD, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

interface Targets {
  userId: string;
  clientId: string;
}

interface AdminOperation {
  operationId: string;
  scope: string;
  send: (t: TestApp, targets: Targets) => Test;
  /** Asserts the refused call left the database as it was. */
  unchanged: (t: TestApp, targets: Targets, snapshot: Snapshot) => Promise<void>;
}

interface Snapshot {
  user: Record<string, unknown>;
  client: Record<string, unknown>;
  clientCount: number;
}

const nothingToCheck = () => Promise.resolve();

const ADMIN_OPERATIONS: AdminOperation[] = [
  {
    operationId: 'listUsers',
    scope: 'users:read',
    send: (t) => request(t.app).get('/v1/users'),
    unchanged: nothingToCheck,
  },
  {
    operationId: 'getUser',
    scope: 'users:read',
    send: (t, { userId }) => request(t.app).get(`/v1/users/${userId}`),
    unchanged: nothingToCheck,
  },
  {
    operationId: 'updateUser',
    scope: 'users:write',
    // With the current ETag, so the refusal can only come from authorization.
    send: (t, { userId }) =>
      request(t.app).patch(`/v1/users/${userId}`).set('If-Match', '"1"').send({ status: 'disabled' }),
    unchanged: async (t, { userId }, snapshot) => {
      expect(await t.database.db('users').where({ id: userId }).first()).toEqual(snapshot.user);
    },
  },
  {
    operationId: 'deleteUser',
    scope: 'users:write',
    send: (t, { userId }) => request(t.app).delete(`/v1/users/${userId}`).set('If-Match', '"1"'),
    unchanged: async (t, { userId }, snapshot) => {
      expect(await t.database.db('users').where({ id: userId }).first()).toEqual(snapshot.user);
    },
  },
  {
    operationId: 'createClient',
    scope: 'clients:write',
    send: (t) =>
      request(t.app)
        .post('/v1/clients')
        .send({ name: 'Sneaky', scopes: ['items:read'] }),
    unchanged: async (t, _targets, snapshot) => {
      const [row] = await t.database.db('oauth_clients').count<[{ count: string }]>('* as count');
      expect(Number(row!.count)).toBe(snapshot.clientCount);
    },
  },
  {
    operationId: 'listClients',
    scope: 'clients:read',
    send: (t) => request(t.app).get('/v1/clients'),
    unchanged: nothingToCheck,
  },
  {
    operationId: 'getClient',
    scope: 'clients:read',
    send: (t, { clientId }) => request(t.app).get(`/v1/clients/${clientId}`),
    unchanged: nothingToCheck,
  },
  {
    operationId: 'deleteClient',
    scope: 'clients:write',
    send: (t, { clientId }) => request(t.app).delete(`/v1/clients/${clientId}`).set('If-Match', '"1"'),
    unchanged: async (t, { clientId }, snapshot) => {
      expect(await t.database.db('oauth_clients').where({ id: clientId }).first()).toEqual(snapshot.client);
    },
  },
  {
    operationId: 'rotateClientSecret',
    scope: 'clients:write',
    send: (t, { clientId }) => request(t.app).post(`/v1/clients/${clientId}/secret`).set('If-Match', '"1"'),
    unchanged: async (t, { clientId }, snapshot) => {
      expect(await t.database.db('oauth_clients').where({ id: clientId }).first()).toEqual(snapshot.client);
    },
  },
];

const cases = ADMIN_OPERATIONS.map(
  (operation) => [operation.operationId, operation.scope, operation] as const,
);

async function arrangeTargets(t: TestApp): Promise<{ targets: Targets; snapshot: Snapshot }> {
  const admin = await createUser(t, { role: 'admin' });
  const target = await createUser(t);
  const client = await createPartnerClient(t, admin);
  const targets = { userId: target.id, clientId: client.clientId };
  const [count] = await t.database.db('oauth_clients').count<[{ count: string }]>('* as count');
  return {
    targets,
    snapshot: {
      user: await t.database.db('users').where({ id: target.id }).first(),
      client: await t.database.db('oauth_clients').where({ id: client.clientId }).first(),
      clientCount: Number(count!.count),
    },
  };
}

function expectInsufficientScope(res: Awaited<Test>, scope: string): void {
  expect(expectProblem(res, 403, 'forbidden')).toMatchObject({ error: 'insufficient_scope' });
  const challenge = res.headers['www-authenticate'] as string;
  expect(challenge).toMatch(/^Bearer /);
  expect(challenge).toContain('error="insufficient_scope"');
  expect(challenge).toContain(`scope="${scope}"`);
}

describe('admin operations refuse everyone but admins', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it.each(cases)(
    'when a normal user calls %s, then 403 insufficient_scope naming %s and nothing changes',
    async (_operationId, scope, operation) => {
      const user = await createUser(t);
      const { targets, snapshot } = await arrangeTargets(t);

      const res = await operation.send(t, targets).auth(user.accessToken, { type: 'bearer' });

      expectInsufficientScope(res, scope);
      await operation.unchanged(t, targets, snapshot);
    },
  );

  it.each(cases)(
    "when %s is called with an administrator's API key, then 401 (no admin operation accepts a key) and nothing changes",
    async (_operationId, _scope, operation) => {
      const admin = await createUser(t, { role: 'admin' });
      const key = await request(t.app)
        .post('/v1/api-keys')
        .auth(admin.accessToken, { type: 'bearer' })
        .send({ name: 'admin script', scopes: ['items:read', 'items:write', 'profile'] })
        .expect(201);
      const { targets, snapshot } = await arrangeTargets(t);

      const res = await operation.send(t, targets).set('X-API-Key', (key.body as { secret: string }).secret);

      expectProblem(res, 401, 'unauthorized');
      await operation.unchanged(t, targets, snapshot);
    },
  );

  it.each(cases)(
    'when %s is called without a token, then 401 with a Bearer challenge and nothing changes',
    async (_operationId, _scope, operation) => {
      const { targets, snapshot } = await arrangeTargets(t);

      const res = await operation.send(t, targets);

      expectProblem(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      await operation.unchanged(t, targets, snapshot);
    },
  );

  it.each(cases)(
    'when %s is called with a malformed token, then 401 invalid_token and nothing changes',
    async (_operationId, _scope, operation) => {
      const { targets, snapshot } = await arrangeTargets(t);

      const res = await operation.send(t, targets).auth('not.a.token', { type: 'bearer' });

      expect(expectProblem(res, 401, 'unauthorized')).toMatchObject({ error: 'invalid_token' });
      expect(res.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
      await operation.unchanged(t, targets, snapshot);
    },
  );

  it.each(cases)(
    'when a partner client calls %s, then 403 insufficient_scope naming %s',
    async (_operationId, scope, operation) => {
      const admin = await createUser(t, { role: 'admin' });
      const client = await createPartnerClient(t, admin);
      const { targets, snapshot } = await arrangeTargets(t);

      const res = await operation.send(t, targets).auth(client.accessToken, { type: 'bearer' });

      expectInsufficientScope(res, scope);
      await operation.unchanged(t, targets, snapshot);
    },
  );
});

describe('the current user’s operations need a user token with `profile`', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const meOperations = [
    ['getCurrentUser', (app: TestApp) => request(app.app).get('/v1/users/me')],
    [
      'updateCurrentUser',
      (app: TestApp) => request(app.app).patch('/v1/users/me').set('If-Match', '"1"').send({ name: 'Bot' }),
    ],
    [
      'changeCurrentUserPassword',
      (app: TestApp) =>
        request(app.app)
          .post('/v1/users/me/password')
          .send({ current_password: PASSWORD, new_password: 'amber-lantern-quietly-77' }),
    ],
  ] as const;

  it.each(meOperations)(
    'when a partner client calls %s, then 403 insufficient_scope naming profile',
    async (_id, send) => {
      const admin = await createUser(t, { role: 'admin' });
      const client = await createPartnerClient(t, admin);

      const res = await send(t).auth(client.accessToken, { type: 'bearer' });

      expectInsufficientScope(res, 'profile');
    },
  );

  it.each(meOperations)(
    'when a user token limited to items:read calls %s, then 403 insufficient_scope naming profile and nothing changes',
    async (_id, send) => {
      const user = await createUser(t, { scope: 'items:read' });
      const before = await t.database.db('users').where({ id: user.id }).first();

      const res = await send(t).auth(user.accessToken, { type: 'bearer' });

      expectInsufficientScope(res, 'profile');
      expect(await t.database.db('users').where({ id: user.id }).first()).toEqual(before);
    },
  );
});

describe('authorization follows the principal as it is now', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const listUsers = (admin: TestUser) =>
    request(t.app).get('/v1/users').auth(admin.accessToken, { type: 'bearer' });

  it('when an admin is demoted by another admin, then the token they already hold loses admin access at once', async () => {
    const demoter = await createUser(t, { role: 'admin' });
    const demoted = await createUser(t, { role: 'admin' });
    await listUsers(demoted).expect(200);

    await request(t.app)
      .patch(`/v1/users/${demoted.id}`)
      .auth(demoter.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .send({ role: 'user' })
      .expect(200);

    expectInsufficientScope(await listUsers(demoted), 'users:read');
    const deleteAttempt = await request(t.app)
      .delete(`/v1/users/${demoter.id}`)
      .auth(demoted.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"');
    expectInsufficientScope(deleteAttempt, 'users:write');
    expect(await t.database.db('users').where({ id: demoter.id }).first()).toBeDefined();
    // Still a signed-in user: the `profile` part of the token keeps working.
    await request(t.app).get('/v1/users/me').auth(demoted.accessToken, { type: 'bearer' }).expect(200);
  });

  it('when a demoted admin refreshes, then the new access token carries no admin scope', async () => {
    const demoter = await createUser(t, { role: 'admin' });
    const demoted = await createUser(t, { role: 'admin' });
    await request(t.app)
      .patch(`/v1/users/${demoted.id}`)
      .auth(demoter.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .send({ role: 'user' })
      .expect(200);

    const res = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: demoted.refreshToken })
      .expect(200);

    expect(res.body.scope).toBe(
      'profile items:read items:write webhooks:read webhooks:write apikeys:read apikeys:write events:read logs:read',
    );
    const fresh = await request(t.app).get('/v1/users').auth(res.body.access_token, { type: 'bearer' });
    expectInsufficientScope(fresh, 'users:read');
  });

  it('when a user is promoted, then the token they already hold does not gain admin access', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);

    await request(t.app)
      .patch(`/v1/users/${user.id}`)
      .auth(admin.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .send({ role: 'admin' })
      .expect(200);

    expectInsufficientScope(await listUsers(user), 'users:read');
    const fresh = await passwordGrant(t.app, user.email, PASSWORD).expect(200);
    await request(t.app).get('/v1/users').auth(fresh.body.access_token, { type: 'bearer' }).expect(200);
  });

  it('when an admin token was narrowed to users:read, then it can list users but not delete one', async () => {
    const admin = await createUser(t, { role: 'admin', scope: 'users:read' });
    const target = await createUser(t);

    await listUsers(admin).expect(200);
    const res = await request(t.app)
      .delete(`/v1/users/${target.id}`)
      .auth(admin.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"');

    expectInsufficientScope(res, 'users:write');
    expect(await t.database.db('users').where({ id: target.id }).first()).toBeDefined();
  });
});
