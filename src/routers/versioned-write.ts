import type { ResponseHeaders } from '../dependencies/operation-result';
import { etagOf } from '../utils/etag';

/** For an answer that carries a secret (a new client's or endpoint's): no cache may keep it. */
export const NO_STORE = { 'Cache-Control': 'no-store' } as const;

type VersionedWrite<S extends 200 | 201, T> = { status: S; headers: ResponseHeaders; body: T };

/**
 * The answer to a write that leaves a resource at a new version (an update, a secret rotation): 200 with
 * the resource and its `ETag`, so the client's next `If-Match` can name this version without a GET first.
 * The write-side twin of `versioned` (conditional-get.ts).
 */
export function updated<T extends { version: number }>(
  resource: T,
  headers: ResponseHeaders = {},
): VersionedWrite<200, T> {
  return { status: 200, headers: { ETag: etagOf(resource.version), ...headers }, body: resource };
}

/** The answer to a create: 201 with the resource, where it now lives, and the `ETag` of its first version. */
export function created<T extends { version: number }>(
  resource: T,
  location: string,
  headers: ResponseHeaders = {},
): VersionedWrite<201, T> {
  return {
    status: 201,
    headers: { Location: location, ETag: etagOf(resource.version), ...headers },
    body: resource,
  };
}
