/**
 * Summarises a V8 CPU profile (node --cpu-prof) by package: self time of every function, attributed
 * to the npm package its file lives in, to this API (dist/src), or to Node itself.
 *
 *   npx tsx scripts/bench/profile-summary.ts build/bench/profile/CPU.*.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

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
const byPackage = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const { callFrame } = byId.get(id)!;
  const micros = profile.timeDeltas[i] ?? 0;
  if (callFrame.functionName === '(idle)') return;
  total += micros;
  const pkg = packageOf(callFrame.url, callFrame.functionName);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  const where = `${callFrame.functionName || '(anonymous)'} ${callFrame.url.replace(/^.*node_modules\//, '')}:${callFrame.lineNumber + 1}`;
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
