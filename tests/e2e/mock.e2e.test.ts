import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import bundled from '../../generated/openapi.json';

const ROOT = resolve(__dirname, '../..');
type Json = Record<string, unknown>;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** The documented example of one response, straight from the bundled spec. */
function documentedExample(path: string, method: string, status: string): unknown {
  const spec = bundled as unknown as Json;
  let response = ((spec.paths as Json)[path] as Json)[method] as Json;
  response = (response.responses as Json)[status] as Json;
  const ref = response.$ref as string | undefined;
  if (ref) response = ((spec.components as Json).responses as Json)[ref.split('/').pop()!] as Json;
  const content = response.content as Record<string, { example: unknown }>;
  return Object.values(content)[0]!.example;
}

/**
 * `make mock` (the `mock` npm script: Prism over generated/openapi.json) serves the documented
 * examples, so partners can build against the contract before they have credentials.
 */
describe('the mock server', () => {
  let child: ChildProcess;
  let baseUrl: string;
  let output = '';

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // Its own process group (npm, the shell, Prism), so all of it can be stopped at once.
    child = spawn('npm', ['run', '--silent', 'mock', '--', '--port', String(port)], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Ready when Prism says it listens (once every route is loaded; colours stripped, a worker may force
    // them); a Prism that exits first fails the set-up with its output.
    await new Promise<void>((resolveReady, reject) => {
      const onOutput = (chunk: Buffer) => {
        output += chunk.toString();
        // eslint-disable-next-line no-control-regex
        if (output.replace(/\u001b\[[0-9;]*m/g, '').includes('Prism is listening on http://')) {
          child.off('exit', onExit);
          resolveReady();
        }
      };
      const onExit = (code: number | null) => reject(new Error(`prism exited with ${code}:\n${output}`));
      child.stdout?.on('data', onOutput);
      child.stderr?.on('data', onOutput);
      child.once('exit', onExit);
    });
  }, 40_000);

  afterAll(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  });

  it('when an item is read with a token, then the answer is the documented example with its ETag', async () => {
    const res = await fetch(`${baseUrl}/v1/items/7d1f0c2a-3b4e-4f5a-9c8d-1e2f3a4b5c6d`, {
      headers: { Authorization: 'Bearer any-token' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(documentedExample('/v1/items/{item_id}', 'get', '200'));
    expect(res.headers.get('etag')).toBe('"3"');
  });

  it('when items are listed without a token, then the answer is the documented 401 problem', async () => {
    const res = await fetch(`${baseUrl}/v1/items`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toEqual(documentedExample('/v1/items', 'get', '401'));
  });

  it('when items are listed with a token, then the answer is the documented page', async () => {
    const res = await fetch(`${baseUrl}/v1/items?limit=10`, {
      headers: { Authorization: 'Bearer any-token' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(documentedExample('/v1/items', 'get', '200'));
  });

  it('when a response is mocked, then its headers carry the documented examples, not the word "string"', async () => {
    const res = await fetch(`${baseUrl}/v1/items?limit=10`, {
      headers: { Authorization: 'Bearer any-token' },
    });
    const headers = Object.fromEntries(res.headers);
    expect(headers['x-request-id']).toBe('0b6c3f0e-3f5e-4a4e-9a53-8c1f0d6f2b11');
    expect(Object.entries(headers).filter(([, value]) => value === 'string')).toEqual([]);
    const token = await fetch(`${baseUrl}/v1/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=a&client_secret=b',
    });
    expect(token.headers.get('ratelimit')).toBe('"caller"; r=1190; t=42');
    expect(token.headers.get('ratelimit-policy')).toBe('"caller"; q=1200; w=60');
  });
});
