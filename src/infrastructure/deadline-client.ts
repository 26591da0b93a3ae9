import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import { clientBoundMs, DeadlineExceededError, serverBoundsMs, type Deadline } from '../utils/deadline';
import type { KnexPostgresClient, KnexQueryObject } from './knex-postgres-client';

/**
 * Where the database runs, which decides what the deadline can do to a statement:
 *  - `server`: PostgreSQL over the network. Each statement waits for its answer at most until the deadline
 *    (client-side, so it holds when packets vanish); a transaction is opened with the server's own
 *    statement_timeout and lock_timeout set to just before it (utils/deadline.ts, serverBoundsMs); a
 *    connection whose answer did not come in time is closed, which leaves its transaction uncommitted,
 *    and the server ends it by itself soon after the deadline if the close never reaches it.
 *  - `embedded`: PGlite in this process. Nothing can interrupt a statement once it runs, nor does PGlite
 *    time statements; the deadline bounds the wait for its one connection and refuses statements past it.
 */
export type DeadlineKind = 'server' | 'embedded';

/** What the client class adds to knex's: the store the request's deadline is in while its work runs. */
interface DeadlineScoped {
  readonly requestDeadlines: AsyncLocalStorage<Deadline | undefined>;
}

/** node-postgres's client, as far as closing it goes. */
interface PgConnection {
  __knex__disposed?: unknown;
  connection?: { stream?: { destroy(): void } };
}

const BEGIN = /^\s*BEGIN\b/i;
const COMMIT = /^\s*COMMIT\b/i;
const ROLLBACK = /^\s*ROLLBACK\b/i;

/**
 * A knex PostgreSQL client whose every statement and every wait for a pooled connection is bounded by the
 * deadline of the request it runs for (see `runWithDeadline`); outside a request (the CLI, the webhook
 * worker, migrations) it is the client it extends, bounded by the DB_* timeouts alone.
 *
 * The deadline reaches the client through AsyncLocalStorage rather than as an argument: every repository
 * and service method would otherwise take it and pass it on (about fifty, plus the authenticator and
 * the idempotency guard), and one that forgot would run unbounded without anyone noticing. Here every
 * statement passes one place (`_query`, and `acquireConnection` for the pool) which no caller can skip. The
 * store belongs to this class, made anew for each knex instance: no module state, and a knex instance not
 * built through `createPgKnex`/`wrapPglite` has none, which `runWithDeadline` refuses.
 *
 * A COMMIT is never sent once the deadline has passed (the transaction is rolled back instead); one sent
 * before it is waited for as any statement outside a request (DB_QUERY_TIMEOUT_MS), since answering 503
 * sooner could deny a write that committed. Only a COMMIT whose answer never comes leaves the outcome
 * unknown; a retry with the same Idempotency-Key finds the write if it committed.
 */
export function withDeadlines(
  Base: typeof KnexPostgresClient,
  kind: DeadlineKind,
): typeof KnexPostgresClient {
  const requestDeadlines = new AsyncLocalStorage<Deadline | undefined>();

  class DeadlineClient extends Base implements DeadlineScoped {
    // A getter, not a field: knex runs a transaction's statements through a copy of the client made with
    // Object.create(prototype), which has no instance fields.
    get requestDeadlines(): AsyncLocalStorage<Deadline | undefined> {
      return requestDeadlines;
    }

    override async acquireConnection(): Promise<unknown> {
      const deadline = requestDeadlines.getStore();
      if (!deadline) return super.acquireConnection();
      const remaining = deadline.remainingMs();
      if (remaining <= 0)
        throw new DeadlineExceededError('The request deadline passed before a connection was free.');
      const acquiring = super.acquireConnection();
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new DeadlineExceededError('No connection became free before the request deadline.')),
          remaining,
        );
      });
      try {
        return await Promise.race([acquiring, expired]);
      } catch (error) {
        // The pool may still hand over a connection for the abandoned wait: straight back with it.
        acquiring.then((connection) => this.releaseConnection(connection)).catch(() => undefined);
        throw error;
      } finally {
        clearTimeout(timer);
      }
    }

    override async _query(connection: unknown, obj: KnexQueryObject): Promise<unknown> {
      const deadline = requestDeadlines.getStore();
      const sent = deadline ? await this.boundedByDeadline(connection, obj, deadline.remainingMs()) : obj;
      if (kind === 'embedded') return super._query(connection, sent);
      try {
        return await super._query(connection, sent);
      } catch (error) {
        // node-postgres gave up waiting (the deadline's bound, or DB_QUERY_TIMEOUT_MS outside a request),
        // but the statement is still on the wire and the server may still answer it: the connection cannot
        // carry another statement (not even a ROLLBACK, which would wait behind it for as long again), so
        // it is closed at once, and a transaction on it ends uncommitted.
        if (error instanceof Error && error.message === 'Query read timeout') {
          discard(connection, 'its answer did not come in time');
        }
        throw error;
      }
    }

    /** The statement as it is sent with `remainingMs` left, or the refusal to send it. */
    private async boundedByDeadline(
      connection: unknown,
      obj: KnexQueryObject,
      remainingMs: number,
    ): Promise<KnexQueryObject> {
      const sql = obj.sql ?? '';
      if (ROLLBACK.test(sql)) {
        // Rolling back is always right; only the wait for it is bounded (a server connection is closed
        // instead, which rolls back too, when no time is left).
        if (kind === 'embedded') return obj;
        if (remainingMs <= 0) {
          discard(connection, 'no time was left to roll back on it');
          throw new DeadlineExceededError(
            'The request deadline passed; the connection was closed to roll back.',
          );
        }
        return this.withClientBound(obj, remainingMs);
      }
      if (remainingMs <= 0) {
        if (COMMIT.test(sql)) {
          // knex counts the transaction ended once COMMIT fails and sends no ROLLBACK: end it here.
          if (kind === 'embedded') await super._query(connection, { sql: 'ROLLBACK' });
          else discard(connection, 'no time was left to commit on it');
          throw new DeadlineExceededError(
            'The request deadline passed before the commit; nothing was committed.',
          );
        }
        throw new DeadlineExceededError('The request deadline passed before the statement was sent.');
      }
      if (kind === 'embedded' || COMMIT.test(sql)) return obj;
      if (BEGIN.test(sql) && !obj.bindings?.length) {
        // The same round trip as BEGIN (one simple-protocol message); LOCAL, so it ends with the
        // transaction and suits PgBouncer's transaction pooling.
        const { query_timeout: queryMs, statement_timeout: statementCapMs } = this.connectionSettings ?? {};
        const margin = (queryMs ?? 0) - (statementCapMs ?? 0);
        const { statementMs, lockMs, idleMs } = serverBoundsMs(remainingMs, margin, statementCapMs);
        const begin = sql.replace(/;?\s*$/, ';');
        return this.withClientBound(
          {
            ...obj,
            sql:
              `${begin} SET LOCAL statement_timeout = ${statementMs}; SET LOCAL lock_timeout = ${lockMs};` +
              ` SET LOCAL idle_in_transaction_session_timeout = ${idleMs};`,
          },
          remainingMs,
        );
      }
      return this.withClientBound(obj, remainingMs);
    }

    /** A copy, so knex's query events (and the metrics labelled by them) see the statement as written. */
    private withClientBound(obj: KnexQueryObject, remainingMs: number): KnexQueryObject {
      const capMs = this.connectionSettings?.query_timeout ?? Number.POSITIVE_INFINITY;
      return { ...obj, options: { ...obj.options, query_timeout: clientBoundMs(remainingMs, capMs) } };
    }
  }
  return DeadlineClient;
}

/**
 * Closes a node-postgres connection at once. knex's pool refuses a connection marked `__knex__disposed`
 * (and closes it) instead of handing it out again; the mark is set here, before the socket's close event
 * would set it, because the connection may go back to the pool first.
 */
function discard(connection: unknown, reason: string): void {
  const pg = connection as PgConnection;
  pg.__knex__disposed ??= `closed: ${reason}`;
  pg.connection?.stream?.destroy();
}

function scopeOf(db: Knex): AsyncLocalStorage<Deadline | undefined> | undefined {
  return (db.client as Partial<DeadlineScoped>).requestDeadlines;
}

/** Whether `db` bounds its statements by request deadlines: built by `createPgKnex` or `wrapPglite`. */
export function hasRequestDeadlines(db: Knex): boolean {
  return scopeOf(db) !== undefined;
}

/** Runs `work`, and everything it starts, under `deadline`: each statement and pool wait is bounded by it. */
export function runWithDeadline<T>(db: Knex, deadline: Deadline, work: () => T): T {
  const scope = scopeOf(db);
  if (!scope)
    throw new Error('This database has no request deadlines: open it with createPgKnex or wrapPglite.');
  return scope.run(deadline, work);
}

/**
 * Runs `work` free of the current request's deadline, bounded by the DB_* timeouts alone: for what a request
 * must leave behind even when it fails (a refusal's audit row, ending a session whose refresh token leaked).
 */
export function runWithoutDeadline<T>(db: Knex, work: () => T): T {
  const scope = scopeOf(db);
  return scope ? scope.run(undefined, work) : work();
}
