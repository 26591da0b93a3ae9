import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function startMain(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PGLITE_DATA_DIR: 'memory://',
      LOG_PRETTY: 'false',
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function waitForReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited early with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('not ready in 20 s');
}

describe('the process entry', () => {
  it('when SIGTERM arrives, then it drains, closes the database and exits 0', async () => {
    const port = await freePort();
    const { child, output } = startMain({ PORT: String(port), SHUTDOWN_TIMEOUT_MS: '2000' });
    await waitForReady(`http://127.0.0.1:${port}`, child);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(output()).toContain('shutdown: complete');
  });

  it('when a variable is invalid, then it refuses to start and names the variable', async () => {
    const { child, output } = startMain({ PORT: 'eighty' });
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(78);
    expect(output()).toMatch(/PORT:/);
  });
});
