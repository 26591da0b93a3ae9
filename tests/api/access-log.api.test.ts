import request from 'supertest';
import { createUser, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

describe('the access log: one line per request that says who called, from where, and what came back', () => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await createTestApp({ env: { TRUST_PROXY: 'true' } });
    user = await createUser(t);
  });
  afterAll(() => t.close());

  const lineFor = (requestId: string) => {
    const lines = t.logs.filter((log) => log.request_id === requestId && log.res !== undefined);
    expect(lines).toHaveLength(1);
    return lines[0]!;
  };

  it('when a user calls, then the line names the principal, address, user agent, route and size, and no credential', async () => {
    const res = await request(t.app)
      .get('/v1/users/me')
      .set('Authorization', `Bearer ${user.accessToken}`)
      .set('X-Forwarded-For', '203.0.113.9')
      .set('User-Agent', 'partner-sdk/1.2')
      .set('X-Request-Id', 'access-log-1')
      .expect(200);
    const line = lineFor('access-log-1');
    expect(line).toMatchObject({
      principal: { kind: 'user', id: user.id },
      client_address: '203.0.113.9',
      user_agent: 'partner-sdk/1.2',
      route: '/v1/users/me',
      response_bytes: Number(res.headers['content-length']),
      res: { status: 200 },
    });
    expect(line.problem_type).toBeUndefined();
    expect(JSON.stringify(line)).not.toContain(user.accessToken);
  });

  it('when the answer is a problem, then the line carries its type and no principal when there was none', async () => {
    await request(t.app).get('/v1/users/me').set('X-Request-Id', 'access-log-2').expect(401);
    const line = lineFor('access-log-2');
    expect(line).toMatchObject({ problem_type: '/problems/unauthorized', res: { status: 401 } });
    expect(line.principal).toBeUndefined();
  });

  it('when a password is sent, then the line shows none of it', async () => {
    await request(t.app)
      .post('/v1/auth/token')
      .set('X-Request-Id', 'access-log-3')
      .type('form')
      .send({ grant_type: 'password', username: user.email, password: 'a-wrong-password-123' })
      .expect(400);
    const line = lineFor('access-log-3');
    expect(line).toMatchObject({ problem_type: '/problems/oauth-error' });
    expect(JSON.stringify(t.logs)).not.toContain('a-wrong-password-123');
  });
});
