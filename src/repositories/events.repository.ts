import type { Database } from '../infrastructure/database';
import type { StoredEvent } from '../models/event';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';
import { keysetQuery, newestFirst } from './keyset-query';

interface EventRow extends StoredEvent {
  id: string;
}

export type EventListRow = EventRow & KeysetRow;

export interface EventFilters {
  /** The audiences (`webhook_events.audience`) the caller belongs to. */
  audiences: readonly string[];
  types?: readonly string[];
  /** Inclusive, an instant PostgreSQL accepts. */
  occurredAfter?: string;
  /** Exclusive. */
  occurredBefore?: string;
}

/** The outbox as the events API reads it, and its retention. Writes are WebhookEventsRepository's. */
export class EventsRepository {
  constructor(private readonly deps: { db: Database }) {}

  /** Newest first, after the keyset `after`, of the events kept since `keptSince`. */
  list(
    filters: EventFilters,
    keptSince: string,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<EventListRow[]> {
    const { db } = this.deps;
    const query = db('webhook_events')
      .select('id', 'payload')
      .whereIn('audience', filters.audiences)
      .where('occurred_at', '>=', keptSince);
    if (filters.types?.length) void query.whereIn('type', filters.types);
    if (filters.occurredAfter) void query.where('occurred_at', '>=', filters.occurredAfter);
    if (filters.occurredBefore) void query.where('occurred_at', '<', filters.occurredBefore);
    return keysetQuery<EventRow>(db, query, newestFirst('occurred_at'), limit, after);
  }

  async find(id: string, audiences: readonly string[], keptSince: string): Promise<StoredEvent | undefined> {
    return (await this.deps
      .db('webhook_events')
      .select('payload')
      .where({ id })
      .whereIn('audience', audiences)
      .where('occurred_at', '>=', keptSince)
      .first()) as StoredEvent | undefined;
  }

  /**
   * Deletes up to `limit` events that occurred before `before`, with their deliveries (the foreign key
   * cascades): the retry period (3 days) is far shorter than the retention, so a delivery still pending
   * then belongs to a disabled endpoint and would be given up at its next attempt anyway. Rows another
   * sweep holds are skipped, so sweeps at once share the work.
   */
  async deleteExpired(before: Date, limit: number): Promise<number> {
    const { rowCount } = await this.deps.db.raw<{ rowCount: number }>(
      `DELETE FROM webhook_events WHERE id IN (
         SELECT id FROM webhook_events WHERE occurred_at < ?::timestamptz LIMIT ? FOR UPDATE SKIP LOCKED)`,
      [before.toISOString(), limit],
    );
    return rowCount;
  }
}
