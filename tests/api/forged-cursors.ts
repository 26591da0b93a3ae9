import type { Response } from 'supertest';
import { expectProblem } from '../support/contract';

/** A cursor built by hand, the way a client that treats it as not opaque would. */
function forgedCursor(values: unknown): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

const SOME_ID = '00000000-0000-4000-8000-000000000000';

/**
 * Cursors the API never issued, for a list walked by (timestamp, id) with nothing else bound to its
 * cursor: each must be refused as the client's mistake, the well-formed but impossible instants included.
 */
export const FORGED_CURSORS: ReadonlyArray<readonly [label: string, cursor: string]> = [
  ['has characters outside base64url', 'not a cursor!'],
  ['is not base64url JSON', 'bm90LWpzb24'],
  ['is JSON of the wrong shape', forgedCursor({ a: 1 })],
  [
    'has the right shape but values that are not a timestamp and an id',
    forgedCursor(['yesterday', 'someone']),
  ],
  ['names a calendar day that does not exist', forgedCursor(['2026-02-30 10:00:00+00', SOME_ID])],
  ['names year zero', forgedCursor(['0000-01-01 00:00:00+00', SOME_ID])],
  ['names a time zone offset out of range', forgedCursor(['2026-01-01 10:00:00+05:99', SOME_ID])],
];

/** The answer to a forged cursor: 400, one error, pointing at the query's `cursor`. */
export function expectCursorRefused(res: Response): void {
  const problem = expectProblem(res, 400, 'validation-error');
  expect(problem.errors).toEqual([
    expect.objectContaining({ location: 'query', pointer: '/cursor', detail: expect.any(String) }),
  ]);
}
