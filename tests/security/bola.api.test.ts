/**
 * OWASP API1:2023 Broken Object Level Authorization: no principal reaches another principal's objects.
 */
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { expectProblem } from '../support/contract';
import {
  createPartnerClient,
  createUser,
  PASSWORD,
  passwordGrant,
  type TestClient,
} from '../support/identity';
import { createTestApp, TEST_BASE_URL, type TestApp } from '../support/test-app';

function getMe(t: TestApp, accessToken: string) {
  return request(t.app).get('/v1/users/me').auth(accessToken, { type: 'bearer' });
}

function revokeAs(t: TestApp, client: TestClient, token: string) {
  return request(t.app)
    .post('/v1/auth/revoke')
    .type('form')
    .send({ token, client_id: client.clientId, client_secret: client.clientSecret });
}

describe('a user reaches only their own account', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when two users fetch /v1/users/me, then each gets their own account', async () => {
    const alice = await createUser(t);
    const bob = await createUser(t);

    const aliceMe = await getMe(t, alice.accessToken).expect(200);
    const bobMe = await getMe(t, bob.accessToken).expect(200);

    expect(aliceMe.body).toMatchObject({ id: alice.id, email: alice.email });
    expect(bobMe.body).toMatchObject({ id: bob.id, email: bob.email });
  });

  it('when a user renames themselves, then only their own row changes', async () => {
    const alice = await createUser(t);
    const bob = await createUser(t);
    const bobBefore = await t.database.db('users').where({ id: bob.id }).first();

    const res = await request(t.app)
      .patch('/v1/users/me')
      .auth(alice.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .send({ name: 'Alice' })
      .expect(200);

    expect(res.body.id).toBe(alice.id);
    expect((await t.database.db('users').where({ id: alice.id }).first()).name).toBe('Alice');
    expect(await t.database.db('users').where({ id: bob.id }).first()).toEqual(bobBefore);
  });

  it('when a user changes their password, then another user’s password and sessions are untouched', async () => {
    const alice = await createUser(t);
    const bob = await createUser(t);
    const bobBefore = await t.database.db('users').where({ id: bob.id }).first();

    await request(t.app)
      .post('/v1/users/me/password')
      .auth(alice.accessToken, { type: 'bearer' })
      .send({ current_password: PASSWORD, new_password: 'amber-lantern-quietly-77' })
      .expect(204);

    expect(await t.database.db('users').where({ id: bob.id }).first()).toEqual(bobBefore);
    await getMe(t, bob.accessToken).expect(200);
    await passwordGrant(t.app, bob.email, PASSWORD).expect(200);
  });

  it('when a user reads another user by id, then 403 and nothing about them is returned', async () => {
    const alice = await createUser(t);
    const bob = await createUser(t);

    const res = await request(t.app).get(`/v1/users/${bob.id}`).auth(alice.accessToken, { type: 'bearer' });

    expect(expectProblem(res, 403, 'forbidden')).toMatchObject({ error: 'insufficient_scope' });
    expect(res.text).not.toContain(bob.email);
  });

  it.each([[{ status: 'disabled' }], [{ role: 'admin' }]])(
    'when a user patches another user with %j, then 403 and the other user’s row and tokens are unchanged',
    async (change) => {
      const alice = await createUser(t);
      const bob = await createUser(t);
      const bobBefore = await t.database.db('users').where({ id: bob.id }).first();

      const res = await request(t.app)
        .patch(`/v1/users/${bob.id}`)
        .auth(alice.accessToken, { type: 'bearer' })
        .set('If-Match', '"1"')
        .send(change);

      expect(expectProblem(res, 403, 'forbidden')).toMatchObject({ error: 'insufficient_scope' });
      expect(await t.database.db('users').where({ id: bob.id }).first()).toEqual(bobBefore);
      await getMe(t, bob.accessToken).expect(200);
    },
  );

  it('when a user deletes another user, then 403 and the other user still exists and can sign in', async () => {
    const alice = await createUser(t);
    const bob = await createUser(t);
    const bobBefore = await t.database.db('users').where({ id: bob.id }).first();

    const res = await request(t.app)
      .delete(`/v1/users/${bob.id}`)
      .auth(alice.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"');

    expect(expectProblem(res, 403, 'forbidden')).toMatchObject({ error: 'insufficient_scope' });
    expect(await t.database.db('users').where({ id: bob.id }).first()).toEqual(bobBefore);
    await getMe(t, bob.accessToken).expect(200);
  });

  it('when a validly signed token names one user but carries another user’s session, then 401 and the named user is not reached', async () => {
    const alice = await createUser(t);
    const bob = await createUser(t);
    const { sid, scope } = jwt.decode(alice.accessToken) as { sid: string; scope: string };
    const forged = jwt.sign({ scope, sid }, t.signingKeys.current.privateKey, {
      algorithm: 'ES256',
      keyid: t.signingKeys.current.kid,
      header: { typ: 'at+jwt', alg: 'ES256' },
      issuer: TEST_BASE_URL,
      audience: 'partner-api',
      subject: bob.id,
      expiresIn: 60,
    });

    const res = await getMe(t, forged);

    expect(expectProblem(res, 401, 'unauthorized')).toMatchObject({ error: 'invalid_token' });
    expect(res.text).not.toContain(bob.email);
  });
});

describe('a partner client revokes only its own tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when a client revokes its own access token, then its session ends (the control case)', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);
    const { sid } = jwt.decode(client.accessToken) as { sid: string };

    await revokeAs(t, client, client.accessToken).expect(200);

    expect((await t.database.db('auth_sessions').where({ id: sid }).first()).revoked_at).not.toBeNull();
    expectProblem(await getMe(t, client.accessToken), 401, 'unauthorized');
  });

  it('when a client revokes a user’s access token, then 200 but the token still works and its session is live', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);
    const user = await createUser(t);
    const { sid } = jwt.decode(user.accessToken) as { sid: string };

    const res = await revokeAs(t, client, user.accessToken);

    expect(res.status).toBe(200);
    await getMe(t, user.accessToken).expect(200);
    expect((await t.database.db('auth_sessions').where({ id: sid }).first()).revoked_at).toBeNull();
  });

  it('when a client revokes a user’s refresh token, then 200 but the refresh token still works', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);
    const user = await createUser(t);

    await revokeAs(t, client, user.refreshToken).expect(200);

    await getMe(t, user.accessToken).expect(200);
    await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken })
      .expect(200);
  });

  it('when a client revokes another client’s access token, then 200 but that token still authenticates', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const attacker = await createPartnerClient(t, admin);
    const victim = await createPartnerClient(t, admin);
    const { sid } = jwt.decode(victim.accessToken) as { sid: string };

    await revokeAs(t, attacker, victim.accessToken).expect(200);

    expect((await t.database.db('auth_sessions').where({ id: sid }).first()).revoked_at).toBeNull();
    // A live client token is authenticated and only lacks `profile` (403); a dead one would get 401.
    expectProblem(await getMe(t, victim.accessToken), 403, 'forbidden');
  });

  it('when a revocation carries a wrong client secret, then 401 invalid_client and the token still works', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const client = await createPartnerClient(t, admin);
    const user = await createUser(t);

    const res = await revokeAs(t, { ...client, clientSecret: 'cs_wrong' }, user.accessToken);

    expect(expectProblem(res, 401, 'unauthorized')).toMatchObject({ error: 'invalid_client' });
    await getMe(t, user.accessToken).expect(200);
  });
});
