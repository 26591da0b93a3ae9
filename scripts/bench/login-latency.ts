/**
 * Login latency under 20 concurrent password grants, with /health/live probed meanwhile to show the
 * event loop stays responsive (argon2 runs on the libuv pool). Prints figures; asserts nothing.
 *
 *   npx tsx scripts/bench/login-latency.ts            # embedded PGlite, in memory
 *   DATABASE_URL=postgres://.../scratch npx tsx scripts/bench/login-latency.ts   # writes to that database
 */
import { performance } from 'node:perf_hooks';
import { signIn, startBenchApp } from './bench-app';

const CONCURRENCY = 20;
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const PASSWORD = 'violet-kettle-orbit-42';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const bench = await startBenchApp();
  const { base } = bench;
  const emails = Array.from({ length: CONCURRENCY }, (_, i) => `bench-${Date.now()}-${i}@example.com`);
  for (const email of emails) {
    await fetch(`${base}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD, name: 'Bench' }),
    });
  }

  const timedLogin = async (email: string): Promise<number> => {
    const started = performance.now();
    await signIn(base, email, PASSWORD);
    return performance.now() - started;
  };

  const probes: number[] = [];
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      const started = performance.now();
      await (await fetch(`${base}/health/live`)).arrayBuffer();
      probes.push(performance.now() - started);
    }
  })();

  const latencies: number[] = [];
  const started = performance.now();
  for (let round = 0; round < ROUNDS; round += 1) {
    latencies.push(...(await Promise.all(emails.map(timedLogin))));
  }
  const elapsed = (performance.now() - started) / 1000;
  probing = false;
  await probeLoop;

  latencies.sort((a, b) => a - b);
  probes.sort((a, b) => a - b);
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  process.stdout.write(
    [
      `driver: ${bench.config.database.driver}; ${CONCURRENCY} concurrent logins x ${ROUNDS} rounds = ${latencies.length} logins in ${elapsed.toFixed(1)} s (${(latencies.length / elapsed).toFixed(0)}/s)`,
      `login latency: median ${fmt(percentile(latencies, 50))}, p99 ${fmt(percentile(latencies, 99))}, max ${fmt(latencies[latencies.length - 1]!)}`,
      `/health/live meanwhile: ${probes.length} probes, median ${fmt(percentile(probes, 50))}, p99 ${fmt(percentile(probes, 99))}, max ${fmt(probes[probes.length - 1]!)}`,
    ].join('\n') + '\n',
  );
  await bench.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
