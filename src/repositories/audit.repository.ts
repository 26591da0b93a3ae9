import type { Knex } from 'knex';
import type { components } from '../../generated/api';
import type { Database } from '../infrastructure/database';
import { runWithoutDeadline } from '../infrastructure/deadline-client';
import type { Principal } from '../models/principal';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';
import { keysetQuery, newestFirst } from './keyset-query';

export type AuditEvent = components['schemas']['AuditEvent'];
export type AuditAction = components['schemas']['AuditAction'];
export type AuditActorType = components['schemas']['AuditActorType'];
export type AuditResourceType = components['schemas']['AuditResourceType'];
export type AuditEventDetails = components['schemas']['AuditEventDetails'];

interface AuditRow extends Omit<AuditEvent, 'occurred_at' | 'details'> {
  occurred_at: Date;
  details: AuditEventDetails | null;
}

export type AuditListRow = AuditRow & KeysetRow;

export interface NewAuditEvent {
  actor_type: AuditActorType;
  actor_id: string | null;
  action: AuditAction;
  resource_type: AuditResourceType;
  resource_id: string | null;
  request_id: string;
  details?: AuditEventDetails;
}

export interface AuditFilters {
  actions?: readonly AuditAction[];
  actorType?: AuditActorType;
  actorId?: string;
  resourceType?: AuditResourceType;
  resourceId?: string;
  /** Inclusive, an instant PostgreSQL accepts. */
  occurredAfter?: string;
  /** Exclusive. */
  occurredBefore?: string;
}

function toEvent(row: AuditRow): AuditEvent {
  return {
    id: row.id,
    occurred_at: row.occurred_at.toISOString(),
    actor_type: row.actor_type,
    actor_id: row.actor_id,
    action: row.action,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    request_id: row.request_id,
    ...(row.details ? { details: row.details } : {}),
  };
}

/** The audit row for a write made under `context`. */
export function auditEventFor(
  context: { actor: Principal; requestId: string },
  action: AuditAction,
  resourceType: AuditResourceType,
  resourceId: string,
  details?: AuditEventDetails,
): NewAuditEvent {
  return {
    actor_type: context.actor.kind,
    actor_id: context.actor.id,
    action,
    resource_type: resourceType,
    resource_id: resourceId,
    request_id: context.requestId,
    ...(details ? { details } : {}),
  };
}

/** The row of an audit event as inserted; the outbox writes it in its own statement too (webhook-events). */
export function auditRowOf(event: NewAuditEvent) {
  return {
    actor_type: event.actor_type,
    actor_id: event.actor_id,
    action: event.action,
    resource_type: event.resource_type,
    resource_id: event.resource_id,
    request_id: event.request_id,
    details: event.details ? JSON.stringify(event.details) : null,
  };
}
const toRow = auditRowOf;

export class AuditRepository {
  constructor(private readonly deps: { db: Database }) {}

  /** Always called with the transaction of the write it records. */
  async append(event: NewAuditEvent, trx: Knex.Transaction): Promise<void> {
    await trx('audit_events').insert(toRow(event));
  }

  /**
   * For events that record a refusal (a failed sign-in): there is no write to join, and the row must be
   * kept although the request fails. One statement, so its own short transaction. Never call it while the
   * same request holds a transaction: PGlite has one connection, and the insert would wait for it forever.
   * It runs even when the request's deadline has passed (bounded by the DB_* timeouts alone): a refusal that
   * comes late, behind a storm of sign-ins, is the one most worth recording.
   */
  async appendAlone(event: NewAuditEvent): Promise<void> {
    const { db } = this.deps;
    // Awaited inside: a query builder runs when awaited, and it must start outside the deadline.
    await runWithoutDeadline(db, async () => {
      await db('audit_events').insert(toRow(event));
    });
  }

  /** For seeding: many rows in one statement, in the transaction of the rows they record. */
  async appendMany(events: readonly NewAuditEvent[], trx: Knex.Transaction): Promise<void> {
    if (events.length > 0) await trx('audit_events').insert(events.map(toRow));
  }

  /** Newest first, after the keyset `after`. */
  list(filters: AuditFilters, limit: number, after: KeysetPosition | undefined): Promise<AuditListRow[]> {
    const { db } = this.deps;
    const query = db('audit_events').select('*');
    if (filters.actions?.length) void query.whereIn('action', filters.actions);
    if (filters.actorType) void query.where('actor_type', filters.actorType);
    if (filters.actorId) void query.where('actor_id', filters.actorId);
    if (filters.resourceType) void query.where('resource_type', filters.resourceType);
    if (filters.resourceId) void query.where('resource_id', filters.resourceId);
    if (filters.occurredAfter) void query.where('occurred_at', '>=', filters.occurredAfter);
    if (filters.occurredBefore) void query.where('occurred_at', '<', filters.occurredBefore);
    return keysetQuery<AuditRow>(db, query, newestFirst('occurred_at'), limit, after);
  }

  static toEvent = toEvent;
}
