/** Renders deploy/'s kustomizations with `kubectl kustomize` (scripts/deploy/kubectl.sh finds or installs it). */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface Rendered {
  /** The kustomization directory, relative to the repository root. */
  dir: string;
  /** Overlays are what gets deployed; the base is rendered and validated but never applied alone. */
  isOverlay: boolean;
  objects: K8sObject[];
}

/** deploy/base and each directory under deploy/overlays/ that holds a kustomization. */
export function kustomizations(root = 'deploy'): { dir: string; isOverlay: boolean }[] {
  const overlays = join(root, 'overlays');
  const found = existsSync(overlays)
    ? readdirSync(overlays, { withFileTypes: true })
        .filter(
          (entry) => entry.isDirectory() && existsSync(join(overlays, entry.name, 'kustomization.yaml')),
        )
        .map((entry) => ({ dir: join(overlays, entry.name), isOverlay: true }))
        .sort((a, b) => a.dir.localeCompare(b.dir))
    : [];
  return [{ dir: join(root, 'base'), isOverlay: false }, ...found];
}

export function findKubectl(): { path: string; version: string } {
  const path = execFileSync('bash', ['scripts/deploy/kubectl.sh'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const version = execFileSync(path, ['version', '--client'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .join(', ');
  return { path, version };
}

/**
 * Renders one kustomization. Anything kustomize prints on stderr fails the render: its warnings are about
 * deprecated keywords, which a later kustomize refuses.
 */
export function render(kubectl: string, dir: string, isOverlay: boolean): Rendered {
  const result = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8' });
  if (result.status !== 0 || result.stderr.trim() !== '') {
    throw new Error(`kubectl kustomize ${dir} (exit ${result.status}):\n${result.stderr.trim()}`);
  }
  return { dir, isOverlay, objects: parseStream(result.stdout, dir) };
}

export function parseStream(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors[0]!.message}`);
    const value: unknown = document.toJS();
    if (value === null) continue;
    if (!isK8sObject(value))
      throw new Error(`${source}: a document without apiVersion, kind and metadata.name`);
    objects.push(value);
  }
  return objects;
}

function isK8sObject(value: unknown): value is K8sObject {
  if (typeof value !== 'object' || value === null) return false;
  const { apiVersion, kind, metadata } = value as Record<string, unknown>;
  return (
    typeof apiVersion === 'string' &&
    typeof kind === 'string' &&
    typeof metadata === 'object' &&
    metadata !== null &&
    typeof (metadata as Record<string, unknown>).name === 'string'
  );
}

export const nameOf = (object: K8sObject): string => `${object.kind}/${object.metadata.name}`;
