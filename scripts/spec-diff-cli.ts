/**
 * `make breaking` and `make changelog`: the spec diff (scripts/spec-diff.ts) between git refs.
 *
 *   tsx scripts/spec-diff-cli.ts breaking [--base REF] --head-file FILE
 *   tsx scripts/spec-diff-cli.ts changelog [--from REF] [--to REF] [--out FILE]
 *
 * The spec at a ref is its committed bundle, generated/openapi.json (`make check-generated` keeps it
 * equal to openapi/). The default base is the last commit on main that changed openapi/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { allowsBreaking, diffSpecs, toMarkdown, type Change } from './spec-diff';

type Json = Record<string, unknown>;
const SPEC_PATH = 'generated/openapi.json';

const git = (...args: string[]): string =>
  execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function commitOf(ref: string): string | undefined {
  try {
    return git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  } catch {
    return undefined;
  }
}

/** The last commit on main (or origin/main in a clone) that changed openapi/. */
function defaultBase(): string {
  for (const branch of ['main', 'origin/main'])
    if (commitOf(branch)) {
      const commit = git('log', '-1', '--format=%H', branch, '--', 'openapi/');
      if (commit) return commit;
    }
  throw new Error('No main branch with a commit touching openapi/; pass REF=<commit>');
}

/** The bundled spec committed at a ref; undefined when the ref has none (before the first spec). */
function specAt(ref: string): Json | undefined {
  const commit = commitOf(ref);
  if (!commit) throw new Error(`Unknown git ref ${ref}`);
  try {
    return JSON.parse(git('show', `${commit}:${SPEC_PATH}`)) as Json;
  } catch {
    return undefined;
  }
}

function label(ref: string, spec: Json | undefined): string {
  const version = (spec?.info as Json | undefined)?.version;
  const short = commitOf(ref)?.slice(0, 7) ?? ref;
  const name = /^[0-9a-f]{40}$/.test(ref) || ref === short ? short : `${ref} (${short})`;
  return version === undefined
    ? name
    : `${name}, v${typeof version === 'string' ? version : JSON.stringify(version)}`;
}

function options(args: string[]): Record<string, string> {
  const parsed: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i];
    const value = args[i + 1];
    if (!name?.startsWith('--') || value === undefined || value === '')
      throw new Error(`Bad arguments: ${args.join(' ')}`);
    parsed[name.slice(2)] = value;
  }
  return parsed;
}

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const EMPTY_SPEC: Json = { openapi: '3.1.0', info: {}, paths: {} };

function breaking(args: Record<string, string>): number {
  const baseRef = args.base ?? defaultBase();
  const headFile = args['head-file'];
  if (!headFile) throw new Error('--head-file is required');
  const base = specAt(baseRef);
  if (!base) {
    out(`No ${SPEC_PATH} at ${baseRef}: nothing to compare against.`);
    return 0;
  }
  const head = JSON.parse(readFileSync(headFile, 'utf8')) as Json;
  const changes = diffSpecs(base, head);
  const count = (kind: Change['kind']) => changes.filter((change) => change.kind === kind).length;
  out(
    `Spec diff against ${label(baseRef, base)}: ${count('breaking')} breaking, ${count('deprecated')} deprecated, ` +
      `${count('added')} added, ${count('changed')} changed.`,
  );
  const broken = changes.filter((change) => change.kind === 'breaking');
  for (const change of broken)
    out(`  BREAKING ${change.operation ? `${change.operation}: ` : ''}${change.message}`);
  if (broken.length === 0) return 0;
  const from = (base.info as Json | undefined)?.version;
  const to = (head.info as Json | undefined)?.version;
  if (allowsBreaking(from, to)) {
    out(`Allowed: info.version ${String(from)} -> ${String(to)} is a major release.`);
    return 0;
  }
  out(`Breaking changes need a major version (info.version, now ${String(to)}) or a new operation instead.`);
  return 1;
}

function changelog(args: Record<string, string>): number {
  const fromRef = args.from ?? defaultBase();
  const toRef = args.to ?? 'HEAD';
  const from = specAt(fromRef);
  const to = specAt(toRef);
  if (!to) throw new Error(`No ${SPEC_PATH} at ${toRef}`);
  const markdown = toMarkdown(
    diffSpecs(from ?? EMPTY_SPEC, to),
    `API changes: ${label(fromRef, from)} -> ${label(toRef, to)}`,
  );
  if (args.out) {
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, markdown);
  }
  out(markdown);
  return 0;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  const args = options(rest);
  if (command === 'breaking') return breaking(args);
  if (command === 'changelog') return changelog(args);
  throw new Error(
    'usage: spec-diff-cli.ts breaking [--base REF] --head-file FILE | changelog [--from REF] [--to REF] [--out FILE]',
  );
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 2;
}
