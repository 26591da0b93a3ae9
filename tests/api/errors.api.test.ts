import request from 'supertest';
import { expectProblem } from '../support/contract';
import { createTestApp, type TestApp } from '../support/test-app';

describe('errors are RFC 9457 problems', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      env: { JSON_BODY_LIMIT: '1kb' },
      handlerOverrides: {
        // A handler that breaks the contract: `status` must be the constant "ok".
        getLiveness: () => ({ status: 200, body: { status: 'broken' } as unknown as { status: 'ok' } }),
        getReadiness: () => {
          throw new Error('SELECT secret FROM users -- password=hunter2');
        },
      },
    });
  });
  afterAll(() => t.close());

  it('when a handler returns a body the spec forbids, then the client gets a 500 problem and the log has the cause', async () => {
    const res = await request(t.app).get('/health/live').set('X-Request-Id', 'wrong-response-1');
    const problem = expectProblem(res, 500, 'internal-error');
    expect(problem.detail).toBe('An unexpected error occurred.');
    const line = t.logs.find((log) => log.request_id === 'wrong-response-1');
    expect(line).toMatchObject({ level: 50, res: { status: 500 } });
    expect(JSON.stringify(line?.err)).toMatch(/status.*must be equal to constant|constant/);
  });

  it('when a handler throws unexpectedly, then the message and stack stay in the log, not the response', async () => {
    const res = await request(t.app).get('/health/ready').set('X-Request-Id', 'unexpected-1');
    const problem = expectProblem(res, 500, 'internal-error');
    expect(res.text).not.toContain('hunter2');
    expect(res.text).not.toContain('SELECT');
    expect(problem.instance).toBe('/health/ready');
    const line = t.logs.find((log) => log.request_id === 'unexpected-1');
    expect(JSON.stringify(line?.err)).toContain('hunter2');
  });

  it('when a path is not in the spec, then 404 problem', async () => {
    const res = await request(t.app).get('/v1/nowhere');
    expect(expectProblem(res, 404, 'not-found').instance).toBe('/v1/nowhere');
  });

  it('when a method is not in the spec for a known path, then 405 problem with Allow', async () => {
    const res = await request(t.app).delete('/health/ready');
    expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers.allow).toBe('GET');
  });

  it('when an unknown query parameter is sent, then 400 problem naming it with a JSON pointer', async () => {
    const res = await request(t.app).get('/health/ready?verbose=1');
    const problem = expectProblem(res, 400, 'validation-error');
    expect(problem.errors).toEqual([
      { location: 'query', pointer: '/verbose', detail: "Unknown query parameter 'verbose'" },
    ]);
  });

  it('when the JSON body exceeds the limit, then 413 problem', async () => {
    const res = await request(t.app)
      .post('/health/live')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ padding: 'x'.repeat(2048) }));
    expectProblem(res, 413, 'content-too-large');
  });

  it('when the JSON body is malformed, then 400 problem pointing at the body', async () => {
    const res = await request(t.app)
      .post('/health/live')
      .set('Content-Type', 'application/json')
      .send('{"a":');
    const problem = expectProblem(res, 400, 'validation-error');
    expect(problem.errors).toEqual([{ location: 'body', pointer: '', detail: 'is not well-formed' }]);
  });
});
