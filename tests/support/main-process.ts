import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

export interface MainProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first log line matching, already printed or still to come. */
  logLine: (pattern: RegExp) => Promise<string>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

const started: ChildProcess[] = [];

/** For `afterEach`: whatever a test started and did not stop is killed, so no process outlives its test. */
export function killStartedProcesses(): void {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
}

/** The real process entry (`src/main.ts`) on an in-memory database, on a free loopback port. */
export function startMain(env: Record<string, string>): MainProcess {
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
  return { child, output: () => output, logLine, exited };
}

export async function listeningUrl(main: MainProcess): Promise<URL> {
  const line = await main.logLine(/listening on http/);
  return new URL((JSON.parse(line) as { url: string }).url);
}
