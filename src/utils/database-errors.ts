import { ServiceUnavailableError, ValidationError } from './errors';

/**
 * SQLSTATE classes and driver errors that mean the database cannot be reached or cannot serve right now,
 * as opposed to a statement it refused: connection exceptions (08), shutdown or recovery (57P01-57P03),
 * insufficient resources (53), a statement or lock timeout (57014, 55P03) and a session ended for idling in
 * its transaction (25P03), which a request's deadline sets on its transaction.
 */
const UNAVAILABLE_SQLSTATES = /^(08...|57P0[1-3]|53...|57014|55P03|25P03)$/;
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// node-postgres reports timeouts and lost connections by message only, and knex appends it to the SQL.
const UNAVAILABLE_MESSAGES =
  /(Query read timeout|timeout expired|Connection terminated|Connection ended unexpectedly|Timeout acquiring a connection)$/;

/** Class 22 (data exception): the value itself cannot be stored, such as a NUL character or an out-of-range date. */
const DATA_EXCEPTION_SQLSTATE = /^22...$/;

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
}

/**
 * Turns a database driver error into the application error it means for the client, or undefined when it is
 * an unexpected failure (a bug) that must surface as 500.
 */
export function translateDatabaseError(
  error: unknown,
): ServiceUnavailableError | ValidationError | undefined {
  // Not `instanceof Error`: socket errors are made by Node's core, which may be another realm (jest's vm).
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, message, code, cause } = error as ErrorLike;
  // Authentication strategies wrap the driver's error; the cause says what happened.
  const fromCause = cause === undefined ? undefined : translateDatabaseError(cause);
  if (fromCause) return fromCause;
  if (
    (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.test(code) || UNAVAILABLE_SOCKET_CODES.has(code))) ||
    name === 'KnexTimeoutError' ||
    // utils/deadline.ts: the request's deadline stopped the database work.
    name === 'DeadlineExceededError' ||
    (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message))
  ) {
    return new ServiceUnavailableError('The database is not answering; retry shortly.', { cause: error });
  }
  if (typeof code === 'string' && DATA_EXCEPTION_SQLSTATE.test(code)) {
    return new ValidationError('A value in the request cannot be stored.', [], { cause: error });
  }
  return undefined;
}
