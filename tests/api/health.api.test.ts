import request from 'supertest';
import { expectProblem, expectSchema } from '../support/contract';
import { createTestApp, type TestApp } from '../support/test-app';

describe('health probes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('when the process is up, then /health/live answers 200 ok', async () => {
    const res = await request(t.app).get('/health/live').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
    expectSchema('HealthStatus', res.body);
  });

  it('when the database answers, then /health/ready answers 200 with the database check', async () => {
    const res = await request(t.app).get('/health/ready').expect(200);
    expect(res.body).toEqual({ status: 'ok', checks: { database: 'ok' } });
  });

  it('when a well-formed X-Request-Id is sent, then it is echoed and logged', async () => {
    const res = await request(t.app)
      .get('/health/live')
      .set('X-Request-Id', 'partner-trace.42:abc')
      .expect(200);
    expect(res.headers['x-request-id']).toBe('partner-trace.42:abc');
    const line = t.logs.find((log) => log.request_id === 'partner-trace.42:abc');
    expect(line).toMatchObject({
      req: { method: 'GET', path: '/health/live' },
      route: '/health/live',
      res: { status: 200 },
    });
    expect(typeof line?.duration_ms).toBe('number');
  });

  it('when a malformed X-Request-Id is sent, then a new UUID replaces it', async () => {
    const res = await request(t.app).get('/health/live').set('X-Request-Id', 'bad id <script>').expect(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('readiness when the database is gone', () => {
  it('when the database does not answer, then /health/ready answers 503 problem and /health/live still 200', async () => {
    const t = await createTestApp();
    await t.database.close();
    const res = await request(t.app).get('/health/ready');
    const problem = expectProblem(res, 503, 'service-unavailable');
    expect(problem.detail).toBe('The database is not answering.');
    await request(t.app).get('/health/live').expect(200);
  });
});
