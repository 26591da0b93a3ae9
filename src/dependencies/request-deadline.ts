import type { RequestHandler } from 'express';
import type { Database } from '../infrastructure/database';
import { hasRequestDeadlines, runWithDeadline } from '../infrastructure/deadline-client';
import { deadlineIn } from '../utils/deadline';

/**
 * Starts the request's deadline once its body has been read (a slow upload is HTTP_REQUEST_TIMEOUT_MS's
 * business, and holds no connection) and runs the rest of the pipeline under it: authentication, the
 * handler and its unit of work. Every statement they run and every wait for a pooled connection ends by
 * the deadline (infrastructure/deadline-client.ts), and the failure becomes the 503 the database being
 * unavailable always was.
 */
export function requestDeadline(deps: { db: Database; deadlineMs: number }): RequestHandler {
  const { db, deadlineMs } = deps;
  if (!hasRequestDeadlines(db)) {
    throw new Error(
      'The database must be opened with openDatabase (createPgKnex, wrapPglite) to bound requests.',
    );
  }
  return (_req, _res, next) => runWithDeadline(db, deadlineIn(deadlineMs), () => next());
}
