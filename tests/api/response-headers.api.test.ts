import request from 'supertest';
import { expectHeader } from '../support/contract';
import { createUser, PASSWORD, passwordGrant } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

/** The headers whose shape the spec states are sent in that shape (responses are validated by body only). */
describe('the headers the API sends have the shape the spec gives them', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('when a token is granted, then RateLimit and RateLimit-Policy list every policy that counted it', async () => {
    const user = await createUser(t);
    const res = await passwordGrant(t.app, user.email, PASSWORD).expect(200);
    // The credential policies (express-rate-limit, with a partition key) beside the caller budget.
    expect(res.headers['ratelimit-policy']).toMatch(
      /"caller"; q=\d+; w=\d+, .*"auth-ip"; q=\d+; w=\d+; pk=:/,
    );
    expectHeader(res, 'RateLimit');
    expectHeader(res, 'RateLimit-Policy');
    expectHeader(res, 'X-Request-Id');
  });

  it('when credentials are missing, invalid or short of a scope, then WWW-Authenticate is a documented challenge', async () => {
    const user = await createUser(t, { scope: 'profile' });
    const refused = [
      await request(t.app).get('/v1/users/me').expect(401),
      await request(t.app).get('/v1/users/me').auth('not-a-token', { type: 'bearer' }).expect(401),
      await request(t.app).get('/v1/items').auth(user.accessToken, { type: 'bearer' }).expect(403),
      await request(t.app)
        .post('/v1/auth/token')
        .type('form')
        .send({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'cs_wrong' })
        .expect(401),
    ];
    expect(refused.map((res) => res.headers['www-authenticate'])).toEqual([
      'Bearer realm="partner-api"',
      'Bearer realm="partner-api", error="invalid_token"',
      'Bearer realm="partner-api", error="insufficient_scope", scope="items:read"',
      'Basic realm="partner-api"',
    ]);
    for (const res of refused) expectHeader(res, 'WWW-Authenticate');
  });

  it('when the deprecated alias is read, then ETag, Deprecation and Sunset have their documented forms', async () => {
    const user = await createUser(t);
    const res = await request(t.app).get('/v1/me').auth(user.accessToken, { type: 'bearer' }).expect(200);
    expectHeader(res, 'ETag');
    expectHeader(res, 'Deprecation');
    expectHeader(res, 'Sunset');
  });
});
