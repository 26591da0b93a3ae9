import type { Request, Response } from 'express';
import { etagOf, ifNoneMatchSatisfied } from '../utils/etag';

/**
 * The answer to a GET of a versioned resource (item, user, client): always its `ETag`; 304 without a
 * body when `If-None-Match` already holds it, else 200 with the resource.
 */
export function sendVersioned<T extends { version: number }>(
  req: Pick<Request, 'get'>,
  res: Response<T>,
  resource: T,
): void {
  res.set('ETag', etagOf(resource.version));
  if (ifNoneMatchSatisfied(req.get('If-None-Match'), resource.version)) {
    res.status(304).end();
    return;
  }
  res.json(resource);
}
