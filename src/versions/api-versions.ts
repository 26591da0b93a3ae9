import { LATEST_API_VERSION, OLDER_API_VERSION_BUNDLES } from '../../generated/api-versions';
import type { OpenApiDocument } from '../internal/openapi-document';
import { VERSION_CHANGES } from './changes';
import type { VersionChange } from './version-change';

export interface ApiVersion {
  /** YYYY-MM-DD */
  readonly name: string;
  /** Announced with `Deprecation` (RFC 9745) on every response at this version from this instant. */
  readonly deprecatedAt?: Date;
  /** Announced with `Sunset` (RFC 8594): when the version stops being served. */
  readonly sunset?: Date;
}

/** The versions this build serves: the latest (generated/openapi.json) and the bundles generated for the older ones. */
export interface ApiVersions {
  readonly latest: string;
  /** Newest first. */
  readonly supported: readonly string[];
  get(name: string): ApiVersion | undefined;
  /**
   * The version a pin is served at: itself while supported; else the newest supported version not after it,
   * so a pin from a newer build is served at the latest and one whose version was retired at the oldest.
   */
  servedAt(pinned: string): string;
  /** A fresh copy of an older version's bundle (consumers such as the validator mutate what they are given). */
  documentOf(name: string): OpenApiDocument;
  /** The changes a caller at `name` is moved through, oldest first: those introduced after it. */
  changesAfter(name: string): readonly VersionChange[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function loadApiVersions(
  bundles: ReadonlyArray<readonly [string, unknown]> = OLDER_API_VERSION_BUNDLES,
  latest: string = LATEST_API_VERSION,
  changes: readonly VersionChange[] = VERSION_CHANGES,
): ApiVersions {
  const older = new Map(bundles.map(([name, bundle]) => [name, bundle as OpenApiDocument]));
  const supported = [latest, ...older.keys()];
  // Every step up from an older version is one change in code, named by the version it introduced.
  const stepsUp = supported.slice(0, -1);
  const named = changes.map((change) => change.version);
  if (JSON.stringify([...named].reverse()) !== JSON.stringify(stepsUp))
    throw new Error(
      `The version changes in code (${named.join(', ')}) do not match the spec's version steps (${[...stepsUp].reverse().join(', ')}).`,
    );
  const versions = new Map<string, ApiVersion>(
    supported.map((name) => {
      const info = older.get(name)?.info ?? {};
      const date = (value: unknown) => (typeof value === 'string' ? { value: new Date(value) } : undefined);
      const deprecatedAt = date(info['x-deprecated-at']);
      const sunset = date(info['x-sunset']);
      return [
        name,
        {
          name,
          ...(deprecatedAt ? { deprecatedAt: deprecatedAt.value } : {}),
          ...(sunset ? { sunset: sunset.value } : {}),
        },
      ];
    }),
  );
  return {
    latest,
    supported,
    get: (name) => (DATE.test(name) ? versions.get(name) : undefined),
    servedAt: (pinned) =>
      versions.has(pinned) ? pinned : (supported.find((name) => name <= pinned) ?? supported.at(-1)!),
    documentOf: (name) => {
      const bundle = older.get(name);
      if (!bundle) throw new Error(`No bundle for API version ${name}`);
      return structuredClone(bundle);
    },
    changesAfter: (name) => changes.filter((change) => change.version > name),
  };
}
