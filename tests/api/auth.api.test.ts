import jwt from 'jsonwebtoken';
import request from 'supertest';
import { expectProblem, expectSchema } from '../support/contract';
import { createPartnerClient, createUser, PASSWORD, passwordGrant, uniqueEmail } from '../support/identity';
import { createTestApp, TEST_BASE_URL, type TestApp } from '../support/test-app';

describe('registration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when a user registers, then 201 with Location, and only an argon2id hash is stored', async () => {
    const email = uniqueEmail();
    const res = await request(t.app)
      .post('/v1/auth/register')
      .send({ email, password: PASSWORD, name: 'Ada' })
      .expect(201);
    expectSchema('User', res.body);
    expect(res.body).toMatchObject({ email, name: 'Ada', role: 'user', status: 'active' });
    expect(res.headers.location).toBe(`/v1/users/${res.body.id}`);
    const row = await t.database.db('users').where({ id: res.body.id }).first();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
  });

  it('when the email has an upper-case domain, then it is stored and answered with the domain in lower case', async () => {
    const local = `Ada-${Date.now()}`;
    const res = await request(t.app)
      .post('/v1/auth/register')
      .send({ email: `${local}@Example.COM`, password: PASSWORD, name: 'Ada' })
      .expect(201);
    expect(res.body.email).toBe(`${local}@example.com`);
    expect((await t.database.db('users').where({ id: res.body.id }).first()).email).toBe(
      `${local}@example.com`,
    );
  });

  it('when the email differs only in case from an existing one, then 409 and no second row', async () => {
    const email = uniqueEmail();
    await request(t.app).post('/v1/auth/register').send({ email, password: PASSWORD, name: 'A' }).expect(201);
    const res = await request(t.app)
      .post('/v1/auth/register')
      .send({ email: email.toUpperCase(), password: PASSWORD, name: 'B' });
    expectProblem(res, 409, 'conflict');
    expect(
      await t.database.db('users').whereRaw('lower(email::text) = ?', [email.toLowerCase()]),
    ).toHaveLength(1);
  });

  it('when the password is one of the most common, then 400 pointing at /password', async () => {
    const res = await request(t.app)
      .post('/v1/auth/register')
      .send({ email: uniqueEmail(), password: 'password123', name: 'A' });
    const problem = expectProblem(res, 400, 'validation-error');
    expect(problem.errors).toEqual([
      { location: 'body', pointer: '/password', detail: 'is one of the most common passwords' },
    ]);
  });

  it.each([
    ['too short', 'short7!'],
    ['too long', 'x'.repeat(129)],
  ])('when the password is %s, then 400 pointing at /password', async (_label, password) => {
    const res = await request(t.app)
      .post('/v1/auth/register')
      .send({ email: uniqueEmail(), password, name: 'A' });
    const problem = expectProblem(res, 400, 'validation-error');
    expect((problem.errors as Array<{ pointer: string }>).map((e) => e.pointer)).toEqual(['/password']);
  });
});

describe('the token endpoint', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when a user signs in with a password, then an ES256 access token with pinned claims and a refresh token, not cacheable', async () => {
    const user = await createUser(t);
    const res = await passwordGrant(t.app, user.email, PASSWORD).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expectSchema('TokenResponse', res.body);
    expect(res.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 900,
      scope:
        'profile items:read items:write webhooks:read webhooks:write apikeys:read apikeys:write events:read logs:read',
    });
    expect(res.body.refresh_token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    const decoded = jwt.decode(res.body.access_token, { complete: true })!;
    expect(decoded.header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: t.signingKeys.current.kid });
    expect(decoded.payload).toMatchObject({
      iss: TEST_BASE_URL,
      aud: 'partner-api',
      sub: user.id,
      scope:
        'profile items:read items:write webhooks:read webhooks:write apikeys:read apikeys:write events:read logs:read',
      jti: expect.any(String),
      sid: expect.any(String),
    });
    const { exp, iat } = decoded.payload as { exp: number; iat: number };
    expect(exp - iat).toBe(900);
  });

  it('when a narrower scope is requested, then the token carries only it', async () => {
    const user = await createUser(t);
    const res = await passwordGrant(t.app, user.email, PASSWORD, 'items:read').expect(200);
    expect(res.body.scope).toBe('items:read');
  });

  it('when a scope the role lacks is requested, then 400 invalid_scope', async () => {
    const user = await createUser(t);
    const res = await passwordGrant(t.app, user.email, PASSWORD, 'users:read');
    expect(expectProblem(res, 400, 'oauth-error')).toMatchObject({ error: 'invalid_scope' });
  });

  it('when the grant type is unknown, then 400 unsupported_grant_type', async () => {
    const res = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'authorization_code' });
    expect(expectProblem(res, 400, 'validation-error')).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('when the password grant lacks a password, then 400 invalid_request', async () => {
    const res = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'password', username: 'a@b.c' });
    expect(expectProblem(res, 400, 'oauth-error')).toMatchObject({ error: 'invalid_request' });
  });

  it('when the token endpoint gets JSON instead of a form, then 415', async () => {
    const res = await request(t.app).post('/v1/auth/token').send({ grant_type: 'password' });
    expectProblem(res, 415, 'unsupported-media-type');
  });

  it('when a refresh token is used, then it rotates and the old one is spent', async () => {
    const user = await createUser(t);
    const first = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken })
      .expect(200);
    expect(first.body.refresh_token).not.toBe(user.refreshToken);
    const rows = await t.database
      .db('refresh_tokens as r')
      .join('auth_sessions as s', 's.id', 'r.session_id')
      .where('s.user_id', user.id)
      .select('r.used_at');
    expect(rows.filter((row: { used_at: Date | null }) => row.used_at !== null)).toHaveLength(1);
    expect(rows).toHaveLength(2);
  });

  it('when a refresh asks for a narrower scope, then the access token has it and the session keeps its own', async () => {
    const user = await createUser(t);
    const res = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken, scope: 'items:read' })
      .expect(200);
    expect(res.body.scope).toBe('items:read');
    const again = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: res.body.refresh_token })
      .expect(200);
    expect(again.body.scope).toBe(
      'profile items:read items:write webhooks:read webhooks:write apikeys:read apikeys:write events:read logs:read',
    );
  });

  it('when a spent refresh token is presented again, then invalid_grant and the whole session is revoked', async () => {
    const user = await createUser(t);
    const rotated = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken })
      .expect(200);
    const replay = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken });
    expect(expectProblem(replay, 400, 'oauth-error')).toMatchObject({ error: 'invalid_grant' });
    const sessions = await t.database.db('auth_sessions').where({ user_id: user.id });
    expect(sessions.every((session: { revoked_at: Date | null }) => session.revoked_at !== null)).toBe(true);
    const descendant = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token });
    expectProblem(descendant, 400, 'oauth-error');
    await request(t.app).get('/v1/users/me').auth(rotated.body.access_token, { type: 'bearer' }).expect(401);
  });

  it('when two refreshes race with the same token, then at most one succeeds', async () => {
    const user = await createUser(t);
    const send = () =>
      request(t.app)
        .post('/v1/auth/token')
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken });
    const results = await Promise.all([send(), send(), send()]);
    expect(results.filter((res) => res.status === 200).length).toBeLessThanOrEqual(1);
    expect(results.filter((res) => res.status === 400)).not.toHaveLength(0);
  });

  it('when a partner client authenticates with HTTP Basic or form fields, then it gets an access token without a refresh token', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin, ['items:read']);
    const basic = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .auth(client.clientId, client.clientSecret)
      .send({ grant_type: 'client_credentials' })
      .expect(200);
    expect(basic.body).toMatchObject({ token_type: 'Bearer', scope: 'items:read' });
    expect(basic.body.refresh_token).toBeUndefined();
    expect(jwt.decode(basic.body.access_token)).toMatchObject({
      sub: client.clientId,
      client_id: client.clientId,
    });
  });

  it('when a client secret is wrong, then 401 invalid_client with a Basic challenge', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);
    const res = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .auth(client.clientId, 'cs_wrong')
      .send({ grant_type: 'client_credentials' });
    expect(expectProblem(res, 401, 'unauthorized')).toMatchObject({ error: 'invalid_client' });
    expect(res.headers['www-authenticate']).toBe('Basic realm="partner-api"');
  });

  it('when a client asks for a scope it was not granted, then 400 invalid_scope', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin, ['items:read']);
    const res = await request(t.app).post('/v1/auth/token').type('form').send({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
      scope: 'items:write',
    });
    expect(expectProblem(res, 400, 'oauth-error')).toMatchObject({ error: 'invalid_scope' });
  });
});

describe('revocation and discovery', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when a refresh token is revoked, then its session ends: refresh fails and its access tokens stop working', async () => {
    const user = await createUser(t);
    await request(t.app).get('/v1/users/me').auth(user.accessToken, { type: 'bearer' }).expect(200);
    const res = await request(t.app)
      .post('/v1/auth/revoke')
      .type('form')
      .send({ token: user.refreshToken, token_type_hint: 'refresh_token' })
      .expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    await request(t.app).get('/v1/users/me').auth(user.accessToken, { type: 'bearer' }).expect(401);
    const refresh = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken });
    expectProblem(refresh, 400, 'oauth-error');
  });

  it('when an access token is revoked, then its session ends too', async () => {
    const user = await createUser(t);
    await request(t.app).post('/v1/auth/revoke').type('form').send({ token: user.accessToken }).expect(200);
    await request(t.app).get('/v1/users/me').auth(user.accessToken, { type: 'bearer' }).expect(401);
  });

  it('when an unknown token is revoked, then 200 all the same', async () => {
    await request(t.app)
      .post('/v1/auth/revoke')
      .type('form')
      .send({ token: 'rt_does-not-exist' })
      .expect(200);
    await request(t.app).post('/v1/auth/revoke').type('form').send({ token: 'not.a.jwt' }).expect(200);
  });

  it('when the JWKS is fetched, then it holds the public key that verifies issued tokens', async () => {
    const user = await createUser(t);
    const res = await request(t.app).get('/.well-known/jwks.json').expect(200);
    expectSchema('JsonWebKeySet', res.body);
    const { createPublicKey } = await import('node:crypto');
    const jwk = res.body.keys[0];
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    expect(() => jwt.verify(user.accessToken, key, { algorithms: ['ES256'] })).not.toThrow();
    expect(JSON.stringify(res.body)).not.toMatch(/"d":/);
  });

  it('when the metadata is fetched, then it names this deployment’s endpoints, grants and scopes', async () => {
    const res = await request(t.app).get('/.well-known/oauth-authorization-server').expect(200);
    expect(res.body).toMatchObject({
      issuer: TEST_BASE_URL,
      token_endpoint: `${TEST_BASE_URL}/v1/auth/token`,
      revocation_endpoint: `${TEST_BASE_URL}/v1/auth/revoke`,
      jwks_uri: `${TEST_BASE_URL}/.well-known/jwks.json`,
      grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
    });
    expect(res.body.scopes_supported).toContain('items:write');
  });
});
