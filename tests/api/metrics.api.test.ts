import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createMetrics, type Metrics } from '../../src/infrastructure/metrics';
import { createUser, passwordGrant, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

/** One sample's value from the Prometheus text format; 0 when the series does not exist yet. */
async function sample(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of (await metrics.registry.metrics()).split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',');
    if (wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return 0;
}

describe('metrics: what an instance did, by operation, status, problem and cause', () => {
  let t: TestApp;
  let metrics: Metrics;
  let user: TestUser;
  beforeAll(async () => {
    metrics = createMetrics();
    t = await createTestApp({ metrics, env: { RATE_LIMIT_AUTH_PER_ACCOUNT: '2' } });
    user = await createUser(t);
  });
  afterAll(() => t.close());

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('when requests are answered, then each is counted and timed under its operationId, method and status', async () => {
    const before = await sample(metrics, 'http_requests_total', {
      operation: 'getCurrentUser',
      status: '200',
    });
    await request(t.app).get('/v1/users/me').set(bearer(user.accessToken)).expect(200);
    await request(t.app).get('/v1/users/me').set(bearer(user.accessToken)).expect(200);
    await request(t.app).get('/v1/no-such-path').expect(404);

    expect(
      await sample(metrics, 'http_requests_total', {
        operation: 'getCurrentUser',
        method: 'GET',
        status: '200',
      }),
    ).toBe(before + 2);
    expect(
      await sample(metrics, 'http_request_duration_seconds_count', {
        operation: 'getCurrentUser',
        status: '200',
      }),
    ).toBe(before + 2);
    // A path outside the spec is labelled as such, so scanners cannot create series.
    expect(await sample(metrics, 'http_requests_total', { operation: 'unmatched', status: '404' })).toBe(1);
    expect(await sample(metrics, 'http_requests_in_flight')).toBe(0);
  });

  it('when the answer is a problem, then it is counted by its type', async () => {
    const before = await sample(metrics, 'http_problems_total', { type: '/problems/not-found' });
    await request(t.app).get(`/v1/items/${randomUUID()}`).set(bearer(user.accessToken)).expect(404);
    expect(await sample(metrics, 'http_problems_total', { type: '/problems/not-found' })).toBe(before + 1);
  });

  it('when credentials are refused, then the failure is counted by reason', async () => {
    await request(t.app).get('/v1/users/me').expect(401);
    await request(t.app).get('/v1/users/me').set(bearer('not.a.token')).expect(401);
    await passwordGrant(t.app, user.email, 'wrong-password-123').expect(400);
    const clientScopes = await createUser(t, { scope: 'items:read' });
    await request(t.app)
      .post('/v1/items')
      .set(bearer(clientScopes.accessToken))
      .send({ name: 'x' })
      .expect(403);

    expect(await sample(metrics, 'auth_failures_total', { reason: 'missing_credentials' })).toBe(1);
    expect(await sample(metrics, 'auth_failures_total', { reason: 'invalid_token' })).toBe(1);
    expect(await sample(metrics, 'auth_failures_total', { reason: 'invalid_grant' })).toBe(1);
    expect(await sample(metrics, 'auth_failures_total', { reason: 'insufficient_scope' })).toBe(1);
  });

  it('when a limit refuses a request, then the rejection is counted under that limit', async () => {
    const target = await createUser(t);
    // RATE_LIMIT_AUTH_PER_ACCOUNT=2: the third failure for one account from one address is refused.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await passwordGrant(t.app, target.email, 'wrong-password-123').expect(400);
    }
    await passwordGrant(t.app, target.email, 'wrong-password-123').expect(429);
    expect(await sample(metrics, 'rate_limit_rejections_total', { limit: 'auth-account-token' })).toBe(1);
  });

  it('when an Idempotency-Key is repeated, then the replay is counted and the write happened once', async () => {
    const key = randomUUID();
    const create = () =>
      request(t.app)
        .post('/v1/items')
        .set(bearer(user.accessToken))
        .set('Idempotency-Key', key)
        .send({ name: 'metered' });
    await create().expect(201);
    await create().expect(201);
    expect(await sample(metrics, 'idempotent_replays_total', { operation: 'createItem' })).toBe(1);
    expect(await t.database.db('items').where({ name: 'metered', owner_user_id: user.id })).toHaveLength(1);
  });

  it('when the database is used, then the pool and each statement show', async () => {
    await request(t.app).get('/v1/users/me').set(bearer(user.accessToken)).expect(200);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^db_pool_connections\{state="idle"\} \d+$/m);
    expect(text).toMatch(/^db_pool_connections\{state="waiting"\} 0$/m);
    // The authentication lookup is one named statement; builder queries are labelled by method.
    expect(text).toMatch(
      /^db_query_duration_seconds_count\{statement="sessions.find-user-principal",outcome="ok"\} [1-9]/m,
    );
    expect(text).toMatch(/^db_query_duration_seconds_count\{statement="insert",outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('when /metrics is asked of the API port, then it is not there', async () => {
    await request(t.app).get('/metrics').expect(404);
  });
});
