import { once } from 'node:events';
import { connect } from 'node:net';
import { createLifecycle } from '../../src/internal/lifecycle';
import { startServer, type RunningServer } from '../../src/server';
import { expectSchema } from '../support/contract';
import { captureLogs, createTestApp, type TestApp } from '../support/test-app';

/** Requests Node's HTTP parser refuses before Express sees them still get a problem document. */

async function rawExchange(port: number, request: string): Promise<{ head: string; body: string }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.end(request);
  await once(socket, 'close');
  const [head = '', body = ''] = received.split('\r\n\r\n');
  return { head, body };
}

describe('requests the HTTP parser refuses', () => {
  let t: TestApp;
  let running: RunningServer;
  beforeAll(async () => {
    t = await createTestApp();
    running = await startServer(
      t.app,
      { ...t.config, http: { ...t.config.http, port: 0, host: '127.0.0.1' } },
      captureLogs().logger,
      createLifecycle(),
    );
  });
  afterAll(async () => {
    await running.stop();
    await t.close();
  });
  const port = () => (running.server.address() as { port: number }).port;

  it('when a header value holds a control character, then 400 problem+json and the connection closes', async () => {
    const { head, body } = await rawExchange(
      port(),
      'GET /health/live HTTP/1.1\r\nHost: x\r\nX-Note: a\u0001b\r\n\r\n',
    );
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
    expect(head).toMatch(/\r\nConnection: close/);
    const problem = JSON.parse(body) as Record<string, unknown>;
    expectSchema('Problem', problem);
    expect(problem).toMatchObject({ type: '/problems/validation-error', status: 400 });
    expect(head).toContain(`X-Request-Id: ${String(problem.request_id)}`);
  });

  it('when the headers exceed 16 KiB, then 431 problem+json', async () => {
    const { head, body } = await rawExchange(
      port(),
      `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    );
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    const problem = JSON.parse(body) as Record<string, unknown>;
    expectSchema('Problem', problem);
    expect(problem).toMatchObject({ type: '/problems/headers-too-large', status: 431 });
  });

  it('when the request line is not HTTP at all, then 400 problem+json', async () => {
    const { head, body } = await rawExchange(port(), 'HELLO THERE\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(body)).toMatchObject({ type: '/problems/validation-error' });
  });
});
