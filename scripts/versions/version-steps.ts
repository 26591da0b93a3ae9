/**
 * The API's versions as openapi/ declares them: the latest is `info.x-api-version` of openapi/openapi.yaml;
 * each older one is an OpenAPI Overlay 1.0 document, openapi/versions/<date>.yaml, that turns the next newer
 * version's spec into its own. Read by the bundler (`npm run generate`), the breaking-change gate, the docs
 * and the fuzzer, so they all see the same list.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenAPIOverlayAction } from 'openapi-format';
import { parse } from 'yaml';

export const VERSIONS_DIR = 'openapi/versions';
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface OverlayDocument {
  overlay: string;
  info: { title: string; version: string };
  actions: OpenAPIOverlayAction[];
  [key: string]: unknown;
}

export interface VersionStep {
  /** The older version this overlay produces. */
  version: string;
  /** The newer version it is derived from (the next step up, or the latest). */
  next: string;
  deprecatedAt?: string;
  sunset?: string;
  /** What `next` changed, for the changelog. */
  changelog: { summary: string; changes: string[] };
  overlay: OverlayDocument;
}

export function latestVersion(root = '.'): string {
  const source = parse(readFileSync(join(root, 'openapi/openapi.yaml'), 'utf8')) as {
    info?: { 'x-api-version'?: unknown };
  };
  const version = source.info?.['x-api-version'];
  if (typeof version !== 'string' || !DATE.test(version))
    throw new Error('openapi/openapi.yaml: info.x-api-version must be the latest version, YYYY-MM-DD');
  return version;
}

/** The older versions' steps, newest first; each one's `next` is the version above it. */
export function readVersionSteps(root = '.'): VersionStep[] {
  const latest = latestVersion(root);
  const files = readdirSync(join(root, VERSIONS_DIR))
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .reverse();
  let next = latest;
  return files.map((file) => {
    const version = file.replace(/\.yaml$/, '');
    const overlay = parse(readFileSync(join(root, VERSIONS_DIR, file), 'utf8')) as OverlayDocument;
    const declared = overlay['x-api-version'];
    if (!DATE.test(version) || declared !== version)
      throw new Error(`${VERSIONS_DIR}/${file}: the file is named by its x-api-version, YYYY-MM-DD`);
    if (version >= next) throw new Error(`${VERSIONS_DIR}/${file}: ${version} is not older than ${next}`);
    if (!/^1\.0\.\d+$/.test(overlay.overlay))
      throw new Error(`${VERSIONS_DIR}/${file}: not an Overlay 1.0 document`);
    const changelog = overlay['x-changelog'] as VersionStep['changelog'] | undefined;
    if (!changelog?.summary || !Array.isArray(changelog.changes))
      throw new Error(`${VERSIONS_DIR}/${file}: x-changelog needs a summary and changes`);
    const step: VersionStep = {
      version,
      next,
      changelog,
      overlay,
      ...(typeof overlay['x-deprecated-at'] === 'string' ? { deprecatedAt: overlay['x-deprecated-at'] } : {}),
      ...(typeof overlay['x-sunset'] === 'string' ? { sunset: overlay['x-sunset'] } : {}),
    };
    next = version;
    return step;
  });
}
