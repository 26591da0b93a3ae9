/**
 * Summarises a V8 CPU profile (node --cpu-prof) by package: self time of every function, attributed
 * to the npm package its file lives in, to this API (dist/src), or to Node itself.
 *
 * Then inclusive time: the share of samples with each package, and each of the API's functions, anywhere on
 * the stack. PROFILE_LAST_SECONDS keeps only the profile's last seconds (the measured run: set it to
 * BENCH_SECONDS), leaving out start-up, sign-ins and warm-up.
 *
 *   npx tsx scripts/bench/profile-summary.ts build/bench/profile/CPU.*.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const LAST_MICROS = Number(process.env.PROFILE_LAST_SECONDS ?? Infinity) * 1e6;

function packageOf(url: string, functionName: string): string {
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1]!;
  if (url.includes('/dist/src/') || url.includes('/src/')) return '(this API)';
  if (url.startsWith('node:')) return '(node)';
  return functionName.startsWith('(') ? functionName : '(native)';
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const byPackage = new Map<string, number>();
const byFunction = new Map<string, number>();
const onStackByPackage = new Map<string, number>();
const onStackByApiFunction = new Map<string, number>();
const whereOf = (callFrame: ProfileNode['callFrame']) =>
  `${callFrame.functionName || '(anonymous)'} ${callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, '')}:${callFrame.lineNumber + 1}`;
let total = 0;
let elapsed = 0;
const skipMicros = profile.timeDeltas.reduce((sum, micros) => sum + micros, 0) - LAST_MICROS;
profile.samples.forEach((id, i) => {
  const { callFrame } = byId.get(id)!;
  const micros = profile.timeDeltas[i] ?? 0;
  elapsed += micros;
  if (elapsed < skipMicros) return;
  if (callFrame.functionName === '(idle)') return;
  const packages = new Set<string>();
  const apiFunctions = new Set<string>();
  for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
    const frame = byId.get(node)!.callFrame;
    const pkg = packageOf(frame.url, frame.functionName);
    packages.add(pkg);
    if (pkg === '(this API)') apiFunctions.add(whereOf(frame));
  }
  for (const pkg of packages) onStackByPackage.set(pkg, (onStackByPackage.get(pkg) ?? 0) + micros);
  for (const fn of apiFunctions) onStackByApiFunction.set(fn, (onStackByApiFunction.get(fn) ?? 0) + micros);
  total += micros;
  const pkg = packageOf(callFrame.url, callFrame.functionName);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  const where = whereOf(callFrame);
  byFunction.set(`${pkg}\t${where}`, (byFunction.get(`${pkg}\t${where}`) ?? 0) + micros);
});

const top = Number(topArg ?? 15);
const share = (micros: number) => `${((100 * micros) / total).toFixed(1).padStart(5)}%`;
const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
process.stdout.write(
  `busy samples: ${(total / 1e6).toFixed(1)} s (idle excluded)\n\nby package (self time)\n`,
);
for (const [name, micros] of sorted(byPackage)) process.stdout.write(`${share(micros)}  ${name}\n`);
process.stdout.write('\nby function (self time)\n');
for (const [name, micros] of sorted(byFunction))
  process.stdout.write(`${share(micros)}  ${name.replace('\t', '  ')}\n`);
process.stdout.write('\nby package, inclusive (on the stack)\n');
for (const [name, micros] of sorted(onStackByPackage)) process.stdout.write(`${share(micros)}  ${name}\n`);
process.stdout.write("\nthe API's functions, inclusive (on the stack)\n");
for (const [name, micros] of sorted(onStackByApiFunction))
  process.stdout.write(`${share(micros)}  ${name}\n`);
