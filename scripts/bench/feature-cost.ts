/**
 * What each feature on the request path costs a request, read from a CPU profile of the API under load
 * (node --cpu-prof): each busy sample goes to the innermost feature on its stack, walking from the leaf up
 * and stopping at the framework, the driver or the API's other code (middleware calls `next()`
 * synchronously, so everything after it would otherwise count as the middleware's); the feature's share
 * of samples times the server CPU per request of the same run is its cost per request. Features are thus
 * disjoint, and "all checks" is their sum. Continuations after an `await` start a new stack, so a feature
 * that awaits is counted from each continuation on.
 *
 *   npx tsx scripts/bench/feature-cost.ts <file.cpuprofile> <server CPU us/request> [last seconds]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type Frame = ProfileNode['callFrame'];

/** Each feature by the code that is its own; a frame matching none is not counted for any. */
export const FEATURES: Array<{ name: string; check: boolean; matches: (frame: Frame) => boolean }> = [
  {
    name: 'caller rate limit',
    check: true,
    matches: ({ url }) => url.includes('/caller-rate-limit.') || url.includes('/rate-limiter-flexible/'),
  },
  {
    name: 'request log (pino-http, pino)',
    check: false,
    matches: ({ url }) =>
      url.includes('/pino-http/') ||
      url.includes('/pino/') ||
      url.includes('/sonic-boom/') ||
      url.includes('/src/internal/logger.'),
  },
  {
    name: 'API keys (scheme check, resolver)',
    check: true,
    matches: ({ url, functionName }) =>
      url.includes('/api-key-resolver.') || functionName === 'validateApiKey',
  },
  {
    name: 'request deadline (timers, statement bounds)',
    check: true,
    matches: ({ url, functionName }) =>
      (url.includes('/deadline-client.') &&
        ['acquireConnection', 'boundedByDeadline', 'withClientBound', 'runWithDeadline'].includes(
          functionName,
        )) ||
      url.includes('/request-deadline.'),
  },
  {
    name: 'API versions',
    check: true,
    // Resolving the version, moving requests up and answers down (src/versions, two dependencies).
    matches: ({ url }) =>
      /\/src\/dependencies\/(api-version|version-translation)\./.test(url) || url.includes('/src/versions/'),
  },
  {
    name: 'authentication (token, session)',
    check: true,
    matches: ({ url }) =>
      url.includes('/authenticator.') ||
      url.includes('/token-strategies.') ||
      url.includes('/verified-tokens.') ||
      url.includes('/passport'),
  },
  {
    name: 'request and response validation',
    check: true,
    matches: ({ url }) =>
      url.includes('/express-openapi-validator/') || url.includes('/ajv/') || url.includes('/ajv-formats/'),
  },
  {
    name: 'metrics (prom-client)',
    check: false,
    matches: ({ url }) => url.includes('/prom-client/') || url.includes('/src/infrastructure/metrics.'),
  },
];

/** Where a walk up the stack stops unattributed: the framework, the driver, the API's other code. */
const BOUNDARY = /\/node_modules\/(router|express|knex|pg|pg-protocol|tarn)\/|\/dist\/src\/|\/src\//;

export function featureShares(profile: Profile, lastSeconds = Infinity): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const skip = profile.timeDeltas.reduce((sum, micros) => sum + micros, 0) - lastSeconds * 1e6;
  const onStack = new Map<string, number>();
  let busy = 0;
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    elapsed += micros;
    if (elapsed < skip || byId.get(id)!.callFrame.functionName === '(idle)') return;
    busy += micros;
    const found = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
      const frame = byId.get(node)!.callFrame;
      const feature = FEATURES.find((candidate) => candidate.matches(frame));
      if (feature) {
        found.add(feature.name);
        if (feature.check) found.add('all checks');
        break;
      }
      if (BOUNDARY.test(frame.url)) break;
    }
    for (const name of found) onStack.set(name, (onStack.get(name) ?? 0) + micros);
  });
  return new Map(
    [...FEATURES.map((feature) => feature.name), 'all checks'].map((name) => [
      name,
      busy ? (onStack.get(name) ?? 0) / busy : 0,
    ]),
  );
}

/** Lines for the table: each feature's share of CPU and what that is per request. */
export function featureCostLines(shares: Map<string, number>, cpuUsPerReq: number): string[] {
  return [...shares].map(
    ([name, share]) =>
      `${name.padEnd(44)}${`${(share * 100).toFixed(1)}%`.padStart(8)}${(share * cpuUsPerReq).toFixed(0).padStart(10)} us`,
  );
}

if (process.argv[1]?.endsWith('feature-cost.ts')) {
  const [file, cpu, last] = process.argv.slice(2);
  if (!file || !cpu) throw new Error('usage: feature-cost.ts <file.cpuprofile> <server CPU us/req> [last s]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  for (const line of featureCostLines(featureShares(profile, Number(last ?? Infinity)), Number(cpu)))
    process.stdout.write(`${line}\n`);
}
