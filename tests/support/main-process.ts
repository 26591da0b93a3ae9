import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

/** The real process entry (`node --import tsx src/main.ts`), started as a child with its output captured. */
export interface MainProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first log line matching, already printed or still to come; rejects if it exits first. */
  logLine: (pattern: RegExp) => Promise<string>;
  /** The URL from its `listening on` line. */
  url: () => Promise<URL>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/**
 * Starts `node --import tsx src/main.ts` directly (not through npx, so signals reach the server itself)
 * on a free port of the loopback interface, with only PATH inherited. Register `killAll` in afterEach or
 * afterAll so no child outlives its test.
 */
export function startMain(env: Record<string, string>, started: ChildProcess[]): MainProcess {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PGLITE_DATA_DIR: 'memory://',
      LOG_PRETTY: 'false',
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString();
    child.emit('output');
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  const logLine = (pattern: RegExp) =>
    new Promise<string>((resolveLine, reject) => {
      const check = () => {
        const line = output.split('\n').find((candidate) => pattern.test(candidate));
        if (line === undefined) return false;
        child.off('output', check);
        resolveLine(line);
        return true;
      };
      if (check()) return;
      child.on('output', check);
      void exited.then(() => {
        if (!check()) reject(new Error(`exited before logging ${pattern}:\n${output}`));
      });
    });
  const url = async () => {
    const line = await logLine(/listening on http/);
    return new URL((JSON.parse(line) as { url: string }).url);
  };
  return { child, output: () => output, logLine, url, exited };
}

/** SIGKILLs every child still running and forgets them; waits until each has exited. */
export async function killAll(started: ChildProcess[]): Promise<void> {
  const children = started.splice(0);
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }),
  );
}
