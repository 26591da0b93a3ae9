import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import request from 'supertest';
import { expectProblem, expectSchema } from '../support/contract';
import { createPartnerClient, createUser, type TestClient, type TestUser } from '../support/identity';
import { countAuditEvents, createTestApp, TEST_BASE_URL, type TestApp } from '../support/test-app';

function introspect(t: TestApp, body: Record<string, string>, client?: TestClient) {
  const req = request(t.app).post('/v1/auth/introspect').type('form');
  return (client ? req.auth(client.clientId, client.clientSecret) : req).send(body);
}

describe('token introspection (RFC 7662)', () => {
  let t: TestApp;
  let admin: TestUser;
  let partner: TestClient;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await createUser(t, { role: 'admin' });
    partner = await createPartnerClient(t, admin, ['items:read']);
  });
  afterAll(() => t.close());

  it('when nobody authenticates, then 401 and the answer says nothing about the token', async () => {
    const user = await createUser(t);

    const res = await introspect(t, { token: user.accessToken });

    expectProblem(res, 401, 'unauthorized');
    expect(res.text).not.toContain('active');
    expect(res.text).not.toContain(user.id);
  });

  it('when the client secret is wrong, then 401 and a failed sign-in is audited', async () => {
    const user = await createUser(t);

    const res = await introspect(t, { token: user.accessToken }, { ...partner, clientSecret: 'cs_wrong' });

    expectProblem(res, 401, 'unauthorized');
    expect(await countAuditEvents(t, partner.clientId, 'auth.sign_in_failed')).toBeGreaterThanOrEqual(1);
  });

  it('when a partner introspects its own live access token, then active with scope, client, subject and lifetime', async () => {
    const res = await introspect(t, { token: partner.accessToken, token_type_hint: 'access_token' }, partner);

    expect(res.status).toBe(200);
    expectSchema('IntrospectionResponse', res.body);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({
      active: true,
      scope: 'items:read',
      client_id: partner.clientId,
      sub: partner.clientId,
      token_type: 'Bearer',
    });
    expect(res.body.exp).toBeGreaterThan(res.body.iat);
  });

  it("when a partner introspects a user's access and refresh tokens, then both are active, with the user as subject", async () => {
    const user = await createUser(t);

    const access = await introspect(t, { token: user.accessToken }, partner).expect(200);
    const refresh = await introspect(
      t,
      { token: user.refreshToken, token_type_hint: 'refresh_token' },
      partner,
    ).expect(200);

    expect(access.body).toMatchObject({ active: true, sub: user.id, token_type: 'Bearer' });
    expect(access.body).not.toHaveProperty('client_id');
    expect(refresh.body).toMatchObject({ active: true, sub: user.id, token_type: 'refresh_token' });
    expect(refresh.body.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it('when the refresh token was used, the session revoked or the account disabled, then active is false and nothing else', async () => {
    const used = await createUser(t);
    await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: used.refreshToken })
      .expect(200);
    const revoked = await createUser(t);
    await request(t.app)
      .post('/v1/auth/revoke')
      .type('form')
      .send({ token: revoked.refreshToken })
      .expect(200);
    const disabled = await createUser(t);
    await t.database.db('users').where({ id: disabled.id }).update({ status: 'disabled' });

    for (const token of [
      used.refreshToken,
      revoked.accessToken,
      revoked.refreshToken,
      disabled.accessToken,
    ]) {
      const res = await introspect(t, { token }, partner).expect(200);
      expect(res.body).toEqual({ active: false });
    }
  });

  it('when the token is garbage, unknown or signed by another key, then active is false', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sid: randomUUID(), scope: 'items:read' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setSubject(randomUUID())
      .setIssuer(TEST_BASE_URL)
      .setExpirationTime('5m')
      .sign(privateKey);

    for (const token of ['nonsense', `rt_${randomUUID()}`, forged]) {
      const res = await introspect(t, { token }, partner).expect(200);
      expect(res.body).toEqual({ active: false });
    }
  });

  it('when a retry with the same Idempotency-Key comes after the token ended, then it answers afresh, not from the record', async () => {
    const user = await createUser(t);
    const key = randomUUID();
    const first = await introspect(t, { token: user.accessToken }, partner)
      .set('Idempotency-Key', key)
      .expect(200);
    expect(first.body.active).toBe(true);
    await request(t.app).post('/v1/auth/revoke').type('form').send({ token: user.accessToken }).expect(200);

    const retry = await introspect(t, { token: user.accessToken }, partner)
      .set('Idempotency-Key', key)
      .expect(200);

    expect(retry.body).toEqual({ active: false });
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
  });

  it('when a private_key_jwt client authenticates with an assertion, then it may introspect, once per assertion', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), alg: 'ES256', kid: 'k1' };
    const created = await request(t.app)
      .post('/v1/clients')
      .auth(admin.accessToken, { type: 'bearer' })
      .send({
        name: 'Signer',
        scopes: ['items:read'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [jwk] },
      })
      .expect(201);
    const clientId = created.body.client_id as string;
    const clientAssertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(`${TEST_BASE_URL}/v1/auth/token`)
      .setExpirationTime('1m')
      .sign(privateKey);
    const user = await createUser(t);
    const body = {
      token: user.accessToken,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
    };

    const first = await introspect(t, body);
    const replay = await introspect(t, body);

    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ active: true, sub: user.id });
    expectProblem(replay, 401, 'unauthorized');
  });

  it('when the metadata is read, then it names the introspection endpoint and its client authentication methods', async () => {
    const res = await request(t.app).get('/.well-known/oauth-authorization-server').expect(200);

    expect(res.body.introspection_endpoint).toBe(`${TEST_BASE_URL}/v1/auth/introspect`);
    expect(res.body.introspection_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ]);
  });
});
