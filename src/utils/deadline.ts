/**
 * The moment by which a request must be answered, on the monotonic clock, and the arithmetic that turns
 * what is left of it into the database's bounds (src/infrastructure/deadline-client.ts applies them).
 */
export interface Deadline {
  /** Milliseconds left; 0 once the deadline has passed. */
  remainingMs(): number;
}

export function deadlineIn(ms: number, now: () => number = () => performance.now()): Deadline {
  const at = now() + ms;
  return { remainingMs: () => Math.max(0, at - now()) };
}

/** Work the deadline stopped: a statement not sent, a connection not waited for, an answer not waited for. */
export class DeadlineExceededError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * How long the client waits for one statement's answer: what is left of the deadline, or the usual bound
 * (`capMs`, DB_QUERY_TIMEOUT_MS) when that is sooner; at least 1 ms, since 0 would mean no bound at all.
 */
export function clientBoundMs(remainingMs: number, capMs: number): number {
  return Math.max(1, Math.ceil(Math.min(remainingMs, capMs)));
}

/**
 * The server's own bounds on a transaction opened with `remainingMs` left, all per statement or per idle
 * spell (the transaction as a whole is held to the deadline by the client's bound on each statement):
 *  - statement_timeout: earlier than the deadline by `answerMarginMs`, the time its error needs to reach
 *    us, so the server gives up first, answers, and the connection is kept; but by no more than half of
 *    what is left, so a short remainder still gets a bound; and never above `statementCapMs`, the
 *    statement timeout of the connection (DB_STATEMENT_TIMEOUT_MS), which it replaces;
 *  - lock_timeout: a twentieth under that, so a statement that does nothing but wait for a lock is
 *    cancelled for that reason and says so (with equal values statement_timeout always fires first);
 *  - idle_in_transaction_session_timeout: all that is left. Idleness counts from the last statement, which
 *    came after the transaction opened, so it can only fire past the deadline, when the transaction can no
 *    longer commit; it then ends a transaction whose client vanished, and releases its locks, where the
 *    server would otherwise wait for TCP to notice.
 */
export function serverBoundsMs(
  remainingMs: number,
  answerMarginMs: number,
  statementCapMs = Number.POSITIVE_INFINITY,
): { statementMs: number; lockMs: number; idleMs: number } {
  const margin = Math.min(Math.max(0, answerMarginMs), remainingMs / 2);
  const statementMs = Math.max(1, Math.floor(Math.min(remainingMs - margin, statementCapMs)));
  return {
    statementMs,
    lockMs: Math.max(1, statementMs - Math.ceil(statementMs / 20)),
    idleMs: Math.max(1, Math.ceil(remainingMs)),
  };
}
