/** Starts the servers under test as child processes, times their start and stops them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { rssMb } from './proc';

export interface RunningServer {
  name: string;
  pid: number;
  url: string;
  /** Spawn until /health/ready first answered 200. */
  readyMs: number;
  /** Right after ready, before any load. */
  idleRssMb: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs `node args...` (pinned to one core with taskset when BENCH_CPU is set, like the issue's
 * figures) with its output in `logFile`, and waits for `${url}/health/ready`.
 */
export async function startServer(options: {
  name: string;
  node: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  logFile: string;
}): Promise<RunningServer> {
  const { node, args, port } = options;
  const cpu = process.env.BENCH_CPU;
  const [command, argv] = cpu ? ['taskset', ['-c', cpu, node, ...args]] : [node, args];
  const log = openSync(options.logFile, 'w');
  const started = performance.now();
  const child: ChildProcess = spawn(command, argv, { env: options.env, stdio: ['ignore', log, log] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Should the bench itself crash, the server must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
    process.off('exit', killOnExit);
  };
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${options.name} exited early; see ${options.logFile}`);
      const ready = await fetch(`${url}/health/ready`).then(
        (res) => res.ok,
        () => false,
      );
      if (ready) break;
      if (performance.now() - started > 60_000) throw new Error(`${options.name} not ready after 60 s`);
      await sleep(20);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const readyMs = performance.now() - started;
  return { name: options.name, pid: child.pid!, url, readyMs, idleRssMb: rssMb(child.pid!), stop };
}
