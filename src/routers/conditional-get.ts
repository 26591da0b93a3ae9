import type { Request } from 'express';
import { etagOf, ifNoneMatchSatisfied } from '../utils/etag';

/**
 * The answer to a GET of a versioned resource (item, user, client): always its `ETag`; 304 without a
 * body when `If-None-Match` already holds it, else 200 with the resource.
 */
export function versioned<T extends { version: number }>(
  req: Pick<Request, 'get'>,
  resource: T,
): { status: 200; headers: { ETag: string }; body: T } | { status: 304; headers: { ETag: string } } {
  const headers = { ETag: etagOf(resource.version) };
  if (ifNoneMatchSatisfied(req.get('If-None-Match'), resource.version)) return { status: 304, headers };
  return { status: 200, headers, body: resource };
}
