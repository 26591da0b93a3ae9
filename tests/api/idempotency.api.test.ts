import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { hashIdempotencyKey } from '../../src/repositories/idempotency-sealing';
import { expectProblem } from '../support/contract';
import { createPartnerClient, createUser, PASSWORD, uniqueEmail, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

/** Idempotency-Key on the POSTs beyond items: secret-bearing answers, anonymous callers, OAuth endpoints. */
describe('Idempotency-Key on every POST', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await createUser(t, { role: 'admin' });
  });
  afterAll(() => t.close());

  const countRows = async (table: string, where: Record<string, unknown>) =>
    (await t.database.db(table).where(where)).length;

  it('when creating a client is retried, then the same client and secret come back, one client exists, and the secret is stored nowhere in clear', async () => {
    const key = randomUUID();
    const create = () =>
      request(t.app)
        .post('/v1/clients')
        .auth(admin.accessToken, { type: 'bearer' })
        .set('Idempotency-Key', key)
        .send({ name: `retried-${key}`, scopes: ['items:read'] });
    const first = await create().expect(201);
    const retry = await create().expect(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.headers['cache-control']).toBe('no-store');
    expect(await countRows('oauth_clients', { name: `retried-${key}` })).toBe(1);
    const secret = (first.body as { client_secret: string }).client_secret;
    const stored = JSON.stringify(await t.database.db('idempotency_keys').select('*'));
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(key);
  });

  it('when a secret rotation is retried with its stale If-Match, then the rotation is replayed instead of refused', async () => {
    const partner = await createPartnerClient(t, admin);
    const current = await request(t.app)
      .get(`/v1/clients/${partner.clientId}`)
      .auth(admin.accessToken, { type: 'bearer' })
      .expect(200);
    const key = randomUUID();
    const rotate = () =>
      request(t.app)
        .post(`/v1/clients/${partner.clientId}/secret`)
        .auth(admin.accessToken, { type: 'bearer' })
        .set('If-Match', current.headers.etag as string)
        .set('Idempotency-Key', key);
    const first = await rotate().expect(200);
    const retry = await rotate().expect(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(
      await countRows('audit_events', { action: 'client.secret_rotated', resource_id: partner.clientId }),
    ).toBe(1);
  });

  it('when a registration is retried, then the same user comes back instead of a 409, and one account exists', async () => {
    const key = randomUUID();
    const email = uniqueEmail('retried');
    const register = () =>
      request(t.app)
        .post('/v1/auth/register')
        .set('Idempotency-Key', key)
        .send({ email, password: PASSWORD, name: 'Retried' });
    const first = await register().expect(201);
    const retry = await register().expect(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await countRows('users', { email })).toBe(1);
  });

  it('when a password grant is retried, then the same tokens come back and one session exists', async () => {
    const user = await createUser(t);
    const sessionsBefore = await countRows('auth_sessions', { user_id: user.id });
    const key = randomUUID();
    const grant = () =>
      request(t.app)
        .post('/v1/auth/token')
        .type('form')
        .set('Idempotency-Key', key)
        .send({ grant_type: 'password', username: user.email, password: PASSWORD });
    const first = await grant().expect(200);
    const retry = await grant().expect(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers['cache-control']).toBe('no-store');
    expect(retry.body).toEqual(first.body);
    expect(await countRows('auth_sessions', { user_id: user.id })).toBe(sessionsBefore + 1);
  });

  it('when a refresh is retried with the same key, then the retry gets the same tokens and the session survives', async () => {
    const user = await createUser(t);
    const key = randomUUID();
    const refresh = () =>
      request(t.app)
        .post('/v1/auth/token')
        .type('form')
        .set('Idempotency-Key', key)
        .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken });
    const first = await refresh().expect(200);
    const retry = await refresh().expect(200);
    expect(retry.body).toEqual(first.body);
    // Without the key the same retry is a reuse: the whole session ends (RFC 9700 section 4.14).
    const reuse = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken });
    expect(reuse.status).toBe(400);
    expect(
      await countRows('audit_events', { action: 'auth.refresh_token_reused', resource_id: user.id }),
    ).toBe(1);
    const next = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({
        grant_type: 'refresh_token',
        refresh_token: (first.body as { refresh_token: string }).refresh_token,
      });
    expect(next.status).toBe(400);
  });

  describe('a stored token response is replayed only while what it carries is unused and live', () => {
    const tokenRequest = (key: string, form: Record<string, string>) =>
      request(t.app).post('/v1/auth/token').type('form').set('Idempotency-Key', key).send(form);
    const refreshWith = (refreshToken: string) =>
      request(t.app)
        .post('/v1/auth/token')
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: refreshToken });

    it('when the refresh token a replay would hand out was used since, then the replay is a reuse: 400 and the session ends', async () => {
      const user = await createUser(t);
      const key = randomUUID();
      const form = { grant_type: 'refresh_token', refresh_token: user.refreshToken };
      const first = await tokenRequest(key, form).expect(200);
      const issued = first.body as { access_token: string; refresh_token: string };
      const third = await refreshWith(issued.refresh_token).expect(200);

      const replay = await tokenRequest(key, form);

      expect(expectProblem(replay, 400, 'oauth-error').error).toBe('invalid_grant');
      expect(replay.headers['idempotent-replayed']).toBeUndefined();
      expect(JSON.stringify(replay.body)).not.toContain(issued.refresh_token);
      expect(
        await countRows('audit_events', { action: 'auth.refresh_token_reused', resource_id: user.id }),
      ).toBe(1);
      const [session] = await t.database.db('auth_sessions').where({
        id: (
          JSON.parse(Buffer.from(issued.access_token.split('.')[1]!, 'base64url').toString()) as {
            sid: string;
          }
        ).sid,
      });
      expect(session!.revoked_at).not.toBeNull();
      await refreshWith((third.body as { refresh_token: string }).refresh_token).expect(400);
    });

    it('when the session a stored password grant opened has ended, then the same key signs in afresh instead of replaying dead tokens', async () => {
      const user = await createUser(t);
      const key = randomUUID();
      const form = { grant_type: 'password', username: user.email, password: PASSWORD };
      const first = await tokenRequest(key, form).expect(200);
      await request(t.app)
        .post('/v1/auth/revoke')
        .type('form')
        .send({ token: (first.body as { refresh_token: string }).refresh_token })
        .expect(200);

      const again = await tokenRequest(key, form).expect(200);

      expect(again.headers['idempotent-replayed']).toBeUndefined();
      expect(again.body.access_token).not.toBe(first.body.access_token);
      await request(t.app)
        .get('/v1/users/me')
        .set('Authorization', `Bearer ${again.body.access_token as string}`)
        .expect(200);
    });
    it('when a token answer is stored, then its record lives no longer than the access token, not 24 hours', async () => {
      const user = await createUser(t);
      const key = randomUUID();
      const first = await tokenRequest(key, {
        grant_type: 'password',
        username: user.email,
        password: PASSWORD,
      }).expect(200);
      const expiresIn = (first.body as { expires_in: number }).expires_in;

      const record = (await t.database
        .db('idempotency_keys')
        .where({ key_hash: hashIdempotencyKey(key) })
        .first()) as { created_at?: Date; expires_at: Date | string };

      const lifetime = (new Date(record.expires_at).getTime() - Date.now()) / 1000;
      expect(lifetime).toBeLessThanOrEqual(expiresIn);
      expect(lifetime).toBeGreaterThan(expiresIn - 60);
    });
  });

  it("when another caller sends the same key to an anonymous operation, then it never gets the first caller's answer", async () => {
    const partner = await createPartnerClient(t, admin);
    const other = await createPartnerClient(t, admin);
    const key = randomUUID();
    const grant = (clientId: string, secret: string) =>
      request(t.app)
        .post('/v1/auth/token')
        .type('form')
        .auth(clientId, secret)
        .set('Idempotency-Key', key)
        .send({ grant_type: 'client_credentials' });
    const first = await grant(partner.clientId, partner.clientSecret).expect(200);
    // Same body, other credentials in the Authorization header: a different request, not a replay.
    const theirs = await grant(other.clientId, other.clientSecret);
    expectProblem(theirs, 422, 'unprocessable-content');
    expect(theirs.text).not.toContain((first.body as { access_token: string }).access_token);
    // The wrong secret with the same key is no replay either.
    expectProblem(await grant(partner.clientId, 'cs_wrong'), 422, 'unprocessable-content');
  });

  it('when a revocation is retried, then it answers the same 200 and one audit row records it', async () => {
    const user = await createUser(t);
    const key = randomUUID();
    const revoke = () =>
      request(t.app)
        .post('/v1/auth/revoke')
        .type('form')
        .set('Idempotency-Key', key)
        .send({ token: user.refreshToken });
    await revoke().expect(200);
    const retry = await revoke().expect(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await countRows('audit_events', { action: 'auth.session_revoked', actor_id: user.id })).toBe(1);
  });
});
