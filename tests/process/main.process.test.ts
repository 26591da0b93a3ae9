import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:net';
import { killAll, startMain as startMainProcess, type MainProcess } from '../support/main-process';

// Each test starts the real process entry; on a busy machine that takes a while. Nothing below waits on
// the clock: it waits for the process to say what it did, and this timeout only guards against a hang.
jest.setTimeout(180_000);

const started: ChildProcess[] = [];
afterEach(() => killAll(started));

const startMain = (env: Record<string, string>): MainProcess => startMainProcess(env, started);

const listeningUrl = (main: MainProcess): Promise<URL> => main.url();

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
}

function send(
  url: URL,
  options: { method?: string; path: string; agent?: Agent; body?: string },
): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path,
        agent: options.agent ?? false,
        headers: options.body ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolveAnswer({ status: res.statusCode!, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the process entry', () => {
  it('when SIGTERM arrives during a burst of 50 keep-alive requests, then every accepted request is answered and it exits 0 without the timeout', async () => {
    const main = startMain({
      SHUTDOWN_TIMEOUT_MS: '60000',
      RATE_LIMIT_AUTH_PER_IP: '100000',
      RATE_LIMIT_AUTH_PER_ACCOUNT: '100000',
      RATE_LIMIT_CALLER_ANONYMOUS: '100000',
    });
    const url = await listeningUrl(main);
    const agent = new Agent({ keepAlive: true, maxSockets: 50 });
    try {
      // Password grants for unknown accounts still spend an argon2 verification each: slow enough that
      // most are in flight, some not even parsed yet, when the signal lands.
      const body = 'grant_type=password&username=nobody%40example.com&password=wrong-password-1';
      const burst = Array.from({ length: 50 }, () =>
        send(url, { method: 'POST', path: '/v1/auth/token', agent, body }),
      );
      const first = await Promise.race(burst);
      main.child.kill('SIGTERM');
      const answers = await Promise.allSettled(burst);
      const failures = answers.filter((answer) => answer.status === 'rejected');
      expect(failures).toEqual([]);
      expect(answers.map((answer) => (answer as PromiseFulfilledResult<Answer>).value.status)).toEqual(
        Array.from({ length: 50 }, () => first.status),
      );
      expect(first.status).toBe(400);
      const [code] = await main.exited;
      expect(code).toBe(0);
      expect(main.output()).toContain('shutdown: complete');
      expect(main.output()).not.toContain('timeout reached');
    } finally {
      agent.destroy();
    }
  });

  it('when SIGTERM arrives with a shutdown delay, then readiness answers 503 while liveness still answers, with Connection: close', async () => {
    const main = startMain({ SHUTDOWN_DELAY_MS: '5000', SHUTDOWN_TIMEOUT_MS: '60000' });
    const url = await listeningUrl(main);
    expect((await send(url, { path: '/health/ready' })).status).toBe(200);
    main.child.kill('SIGTERM');
    await main.logLine(/readiness is 503/);
    const ready = await send(url, { path: '/health/ready' });
    expect(ready.status).toBe(503);
    expect(ready.headers['retry-after']).toMatch(/^\d+$/);
    const live = await send(url, { path: '/health/live' });
    expect(live.status).toBe(200);
    expect(live.headers.connection).toBe('close');
    const [code] = await main.exited;
    expect(code).toBe(0);
  });

  it('when SIGTERM arrives during start-up, then it exits 0 without serving', async () => {
    const main = startMain({});
    await main.logLine(/start-up: opening the database/);
    main.child.kill('SIGTERM');
    const [code] = await main.exited;
    expect(code).toBe(0);
    expect(main.output()).toContain('shutdown: during start-up');
    expect(main.output()).not.toContain('listening on');
  });

  it('when start-up cannot finish (a database that accepts and never answers), then it fails loudly at the deadline', async () => {
    const silent: Server = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const { port } = silent.address() as { port: number };
      const main = startMain({
        DATABASE_URL: `postgres://nobody@127.0.0.1:${port}/nothing`,
        DB_CONNECT_TIMEOUT_MS: '600000',
        DB_ACQUIRE_TIMEOUT_MS: '600000',
        STARTUP_TIMEOUT_MS: '1000',
      });
      const [code] = await main.exited;
      expect(code).toBe(1);
      expect(main.output()).toMatch(/"level":60.*start-up: not ready in time/);
    } finally {
      silent.close();
    }
  });

  it('when a variable is invalid, then it refuses to start and names the variable', async () => {
    const main = startMain({ PORT: 'eighty' });
    const [code] = await main.exited;
    expect(code).toBe(78);
    expect(main.output()).toMatch(/PORT:/);
  });
});
