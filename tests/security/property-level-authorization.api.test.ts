/**
 * OWASP API3:2023 Broken Object Property Level Authorization: clients cannot write properties they do not
 * own (mass assignment) and never read properties they must not see (excessive data exposure).
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { expectProblem } from '../support/contract';
import { createPartnerClient, createUser, PASSWORD, uniqueEmail } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

const FORBIDDEN_KEYS = ['password_hash', 'secret_hash', 'password', 'client_secret'];

/** Every key anywhere in a JSON value. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, inner]) => [key, ...keysOf(inner)]);
  }
  return [];
}

function expectNoSecrets(text: string, body: unknown, secretValues: string[]): void {
  const keys = keysOf(body);
  for (const key of FORBIDDEN_KEYS) expect(keys).not.toContain(key);
  for (const secret of secretValues) expect(text).not.toContain(secret);
}

describe('mass assignment at registration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it.each([
    ['role', 'admin'],
    ['status', 'active'],
    ['id', randomUUID()],
    ['created_at', '2020-01-01T00:00:00.000Z'],
    ['password_hash', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g'],
  ])('when a registration sets %s, then 400 naming /%s and no account is created', async (field, value) => {
    const email = uniqueEmail('mass');

    const res = await request(t.app)
      .post('/v1/auth/register')
      .send({ email, password: PASSWORD, name: 'Mallory', [field]: value });

    const problem = expectProblem(res, 400, 'validation-error');
    expect(problem.errors).toEqual([expect.objectContaining({ location: 'body', pointer: `/${field}` })]);
    expect(await t.database.db('users').where({ email })).toHaveLength(0);
  });

  it('when a registration tries to pick an existing user’s id, then 400 and that user is untouched', async () => {
    const victim = await createUser(t);
    const before = await t.database.db('users').where({ id: victim.id }).first();
    const email = uniqueEmail('mass');

    const res = await request(t.app)
      .post('/v1/auth/register')
      .send({ email, password: PASSWORD, name: 'Mallory', id: victim.id });

    expectProblem(res, 400, 'validation-error');
    expect(await t.database.db('users').where({ id: victim.id }).first()).toEqual(before);
    expect(await t.database.db('users').where({ email })).toHaveLength(0);
  });
});

describe('mass assignment on the current user', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it.each([
    ['role', 'admin'],
    ['email', 'someone-else@example.com'],
    ['status', 'disabled'],
    ['id', '00000000-0000-4000-8000-000000000000'],
    ['updated_at', '2020-01-01T00:00:00.000Z'],
    ['version', 99],
  ])(
    'when a user patches their own %s, then 400 naming it and their row is unchanged',
    async (field, value) => {
      const user = await createUser(t);
      const before = await t.database.db('users').where({ id: user.id }).first();

      const res = await request(t.app)
        .patch('/v1/users/me')
        .auth(user.accessToken, { type: 'bearer' })
        .set('If-Match', '"1"')
        .send({ name: 'Renamed', [field]: value });

      const problem = expectProblem(res, 400, 'validation-error');
      expect(problem.errors).toEqual([expect.objectContaining({ location: 'body', pointer: `/${field}` })]);
      expect(await t.database.db('users').where({ id: user.id }).first()).toEqual(before);
    },
  );

  it('when a user sends only a role to /v1/users/me, then 400 and they gain no admin access', async () => {
    const user = await createUser(t);

    const res = await request(t.app)
      .patch('/v1/users/me')
      .auth(user.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .send({ role: 'admin' });

    expectProblem(res, 400, 'validation-error');
    expect((await t.database.db('users').where({ id: user.id }).first()).role).toBe('user');
    await request(t.app).get('/v1/users').auth(user.accessToken, { type: 'bearer' }).expect(403);
  });
});

describe('responses never expose credentials', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when users are registered, read, updated and listed, then no response contains a password hash', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const email = uniqueEmail();
    const registered = await request(t.app)
      .post('/v1/auth/register')
      .send({ email, password: PASSWORD, name: 'Ada' })
      .expect(201);
    const id = registered.body.id as string;
    const hashes = (await t.database.db('users').select('password_hash')).map(
      (row: { password_hash: string }) => row.password_hash,
    );
    const tokens = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'password', username: email, password: PASSWORD })
      .expect(200);
    const userToken = tokens.body.access_token as string;
    const secrets = [...hashes, PASSWORD];

    const responses = [
      registered,
      tokens,
      await request(t.app).get('/v1/users/me').auth(userToken, { type: 'bearer' }).expect(200),
      await request(t.app)
        .patch('/v1/users/me')
        .auth(userToken, { type: 'bearer' })
        .set('If-Match', '"1"')
        .send({ name: 'Ada L' })
        .expect(200),
      await request(t.app).get('/v1/users').auth(admin.accessToken, { type: 'bearer' }).expect(200),
      await request(t.app)
        .get('/v1/users')
        .query({ email })
        .auth(admin.accessToken, { type: 'bearer' })
        .expect(200),
      await request(t.app).get(`/v1/users/${id}`).auth(admin.accessToken, { type: 'bearer' }).expect(200),
      await request(t.app)
        .patch(`/v1/users/${id}`)
        .auth(admin.accessToken, { type: 'bearer' })
        .set('If-Match', '"2"')
        .send({ role: 'user' })
        .expect(200),
    ];

    for (const res of responses) {
      expect(res.text).toBeTruthy();
      expectNoSecrets(res.text, res.body, secrets);
    }
  });

  it('when clients are listed or fetched, then neither the secret nor its hash is returned', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);
    const row = await t.database.db('oauth_clients').where({ id: client.clientId }).first();

    const responses = [
      await request(t.app)
        .get('/v1/clients')
        .query({ limit: 100 })
        .auth(admin.accessToken, { type: 'bearer' })
        .expect(200),
      await request(t.app)
        .get(`/v1/clients/${client.clientId}`)
        .auth(admin.accessToken, { type: 'bearer' })
        .expect(200),
    ];

    for (const res of responses) {
      expectNoSecrets(res.text, res.body, [client.clientSecret, row.secret_hash as string]);
    }
    expect((responses[0]!.body.data as Array<{ client_id: string }>).map((c) => c.client_id)).toContain(
      client.clientId,
    );
  });

  it('when a client is created or its secret rotated, then the secret is shown but never its hash', async () => {
    const admin = await createUser(t, { role: 'admin' });

    const created = await request(t.app)
      .post('/v1/clients')
      .auth(admin.accessToken, { type: 'bearer' })
      .send({ name: 'Shown once', scopes: ['items:read'] })
      .expect(201);
    const rotated = await request(t.app)
      .post(`/v1/clients/${created.body.client_id}/secret`)
      .auth(admin.accessToken, { type: 'bearer' })
      .set('If-Match', created.headers.etag as string)
      .expect(200);

    const row = await t.database.db('oauth_clients').where({ id: created.body.client_id }).first();
    for (const res of [created, rotated]) {
      expect(res.body.client_secret).toEqual(expect.any(String));
      expect(keysOf(res.body)).not.toContain('secret_hash');
      expect(res.text).not.toContain(row.secret_hash);
    }
  });
});
