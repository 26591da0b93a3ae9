/**
 * `make breaking` and `make changelog`: the spec diff (scripts/spec-diff.ts) between git refs.
 *
 *   tsx scripts/spec-diff-cli.ts breaking [--base REF] --head-dir DIR
 *   tsx scripts/spec-diff-cli.ts changelog [--from REF] [--to REF] [--out FILE]
 *
 * `breaking` follows the dated versions (compareVersions in scripts/spec-diff.ts): each version supported
 * at head (DIR/openapi.json lists them in info.x-api-versions; DIR/openapi.<date>.json holds the older
 * ones, as `make breaking` bundles them from openapi/) is diffed against the same version's bundle at the
 * base ref, and any breaking change fails. The bundles at a ref are the committed ones: generated/openapi.json
 * for its latest, generated/openapi.<date>.json for each older version (`make check-generated` keeps them
 * equal to openapi/); a ref from before versions has only the first, which stands for head's oldest version.
 * The default base is the last commit on main that changed openapi/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { compareVersions, diffSpecs, toMarkdown, type Change, type VersionBundle } from './spec-diff';

type Json = Record<string, unknown>;
const SPEC_PATH = 'generated/openapi.json';
const versionedPath = (version: string) => `generated/openapi.${version}.json`;

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

/** Every version a bundle set supports, newest first: info.x-api-versions of its latest, or none. */
function versionsOf(latest: Json): string[] | undefined {
  const info = latest.info as Json | undefined;
  const listed = info?.['x-api-versions'];
  if (Array.isArray(listed)) return listed.map(String);
  return typeof info?.['x-api-version'] === 'string' ? [info['x-api-version']] : undefined;
}

function bundles(latest: Json, older: (version: string) => Json): VersionBundle[] {
  const versions = versionsOf(latest);
  if (!versions) return [{ version: undefined, spec: latest }];
  return versions.map((version, i) => ({ version, spec: i === 0 ? latest : older(version) }));
}

function bundlesAt(ref: string, latest: Json): VersionBundle[] {
  const commit = commitOf(ref) ?? ref;
  return bundles(latest, (version) => {
    try {
      return JSON.parse(git('show', `${commit}:${versionedPath(version)}`)) as Json;
    } catch {
      throw new Error(`${ref} lists version ${version} but has no ${versionedPath(version)}`);
    }
  });
}

function bundlesIn(dir: string): VersionBundle[] {
  const read = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Json;
  const found = bundles(read('openapi.json'), (version) => read(`openapi.${version}.json`));
  if (found[0]?.version === undefined) throw new Error(`${dir}/openapi.json has no info.x-api-version`);
  return found;
}

function breaking(args: Record<string, string>): number {
  const baseRef = args.base ?? defaultBase();
  const headDir = args['head-dir'];
  if (!headDir) throw new Error('--head-dir is required');
  const base = specAt(baseRef);
  if (!base) {
    out(`No ${SPEC_PATH} at ${baseRef}: nothing to compare against.`);
    return 0;
  }
  const baseBundles = bundlesAt(baseRef, base);
  const headBundles = bundlesIn(headDir);
  if (baseBundles[0]?.version === undefined)
    out(
      `${label(baseRef, base)} is from before dated versions: its spec stands for ${String(headBundles.at(-1)?.version)}.`,
    );
  const today = new Date().toISOString().slice(0, 10);
  let failed = false;
  for (const result of compareVersions(baseBundles, headBundles, today)) {
    const count = (kind: Change['kind']) => result.changes.filter((change) => change.kind === kind).length;
    if (result.status === 'new') out(`${result.version}: new at HEAD, nothing to compare against.`);
    else if (result.status === 'dropped')
      out(
        `${result.version}: no longer supported at HEAD${result.failures.length ? '' : ' (past its sunset)'}.`,
      );
    else
      out(
        `${result.version}: against ${label(baseRef, base)}: ${count('breaking')} breaking, ${count('deprecated')} deprecated, ` +
          `${count('added')} added, ${count('changed')} changed.`,
      );
    for (const failure of result.failures) out(`  BREAKING ${failure}`);
    failed ||= result.failures.length > 0;
  }
  if (!failed) return 0;
  out(
    'A supported version may change only additively. For a breaking change to the latest, add a version step ' +
      '(docs/versioning.md); never change an older version but additively.',
  );
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
    'usage: spec-diff-cli.ts breaking [--base REF] --head-dir DIR | changelog [--from REF] [--to REF] [--out FILE]',
  );
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 2;
}
