import type { Database } from '../infrastructure/database';
import { runWithoutDeadline } from '../infrastructure/deadline-client';
import type { NewRequestLogEntry, RequestLogEntry } from '../models/request-log';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';
import { keysetQuery, newestFirst } from './keyset-query';

interface RequestLogRow extends Omit<RequestLogEntry, 'occurred_at'> {
  occurred_at: Date;
}

export type RequestLogListRow = RequestLogRow & KeysetRow;

export interface RequestLogFilters {
  callerId?: string;
  /** Inclusive lower and exclusive upper bound of the status. */
  status?: readonly [number, number];
  operationId?: string;
  /** Inclusive, an instant PostgreSQL accepts. */
  occurredAfter?: string;
  /** Exclusive. */
  occurredBefore?: string;
}

const COLUMNS = [
  'id',
  'occurred_at',
  'caller_type',
  'caller_id',
  'operation_id',
  'method',
  'route',
  'status',
  'problem_type',
  'errors',
  'duration_ms',
  'request_id',
  'idempotency_key_sha256',
  'api_version',
  'client_address',
] as const;

function toEntry(row: RequestLogRow): RequestLogEntry {
  return {
    id: row.id,
    occurred_at: row.occurred_at.toISOString(),
    caller_type: row.caller_type,
    caller_id: row.caller_id,
    operation_id: row.operation_id,
    method: row.method,
    route: row.route,
    status: row.status,
    problem_type: row.problem_type,
    errors: row.errors,
    duration_ms: Number(row.duration_ms),
    request_id: row.request_id,
    idempotency_key_sha256: row.idempotency_key_sha256,
    api_version: row.api_version,
    client_address: row.client_address,
  };
}

export class RequestLogsRepository {
  constructor(private readonly deps: { db: Database }) {}

  /**
   * A batch in one multi-row statement, its own implicit transaction. Called by the request log's flush,
   * outside any request: it is not bound by a request's deadline, only by the DB_* timeouts.
   */
  async insertMany(entries: readonly NewRequestLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const { db } = this.deps;
    await runWithoutDeadline(db, async () => {
      await db('request_logs').insert(
        entries.map((entry) => ({ ...entry, errors: JSON.stringify(entry.errors) })),
      );
    });
  }

  /** Newest first, after the keyset `after`, of the entries kept since `keptSince`. */
  list(
    filters: RequestLogFilters,
    keptSince: string,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<RequestLogListRow[]> {
    const { db } = this.deps;
    const query = db('request_logs').select(COLUMNS).where('occurred_at', '>=', keptSince);
    if (filters.callerId) void query.where('caller_id', filters.callerId);
    if (filters.status)
      void query.where('status', '>=', filters.status[0]).where('status', '<', filters.status[1]);
    if (filters.operationId) void query.where('operation_id', filters.operationId);
    if (filters.occurredAfter) void query.where('occurred_at', '>=', filters.occurredAfter);
    if (filters.occurredBefore) void query.where('occurred_at', '<', filters.occurredBefore);
    return keysetQuery<RequestLogRow>(db, query, newestFirst('occurred_at'), limit, after);
  }

  /** Deletes up to `limit` entries older than `before`; sweeps at once skip each other's rows. */
  async deleteExpired(before: Date, limit: number): Promise<number> {
    const { rowCount } = await this.deps.db.raw<{ rowCount: number }>(
      `DELETE FROM request_logs WHERE id IN (
         SELECT id FROM request_logs WHERE occurred_at < ?::timestamptz LIMIT ? FOR UPDATE SKIP LOCKED)`,
      [before.toISOString(), limit],
    );
    return rowCount;
  }

  static toEntry = toEntry;
}
