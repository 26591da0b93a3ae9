import type { Knex } from 'knex';
import type { components } from '../../generated/api';
import type { Database } from '../dependencies/database';
import type { WriteContext } from '../models/write-context';

export type AuditEvent = components['schemas']['AuditEvent'];

interface AuditRow extends Omit<AuditEvent, 'occurred_at'> {
  occurred_at: Date;
  cursor_occurred_at: string;
}

export interface NewAuditEvent {
  actor_type: 'user' | 'client';
  actor_id: string;
  action: string;
  resource_type: string;
  resource_id: string;
  request_id: string;
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
  };
}

/** The audit row for a write made under `context`. */
export function auditEventFor(
  context: Pick<WriteContext<never>, 'actor' | 'requestId'>,
  action: string,
  resourceType: string,
  resourceId: string,
): NewAuditEvent {
  return {
    actor_type: context.actor.kind,
    actor_id: context.actor.id,
    action,
    resource_type: resourceType,
    resource_id: resourceId,
    request_id: context.requestId,
  };
}

export class AuditRepository {
  constructor(private readonly deps: { db: Database }) {}

  /** Always called with the transaction of the write it records. */
  async append(trx: Knex.Transaction, event: NewAuditEvent): Promise<void> {
    await trx('audit_events').insert(event);
  }

  /** Newest first; `before` is the (occurred_at text, id) of the previous page's last row. */
  async list(limit: number, before: readonly [string, string] | undefined): Promise<AuditRow[]> {
    const query = this.deps
      .db('audit_events')
      .select('*', this.deps.db.raw('occurred_at::text as cursor_occurred_at'))
      .orderBy([
        { column: 'occurred_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit);
    if (before) void query.whereRaw('(occurred_at, id) < (?::timestamptz, ?::uuid)', [before[0], before[1]]);
    return (await query) as AuditRow[];
  }

  static toEvent = toEvent;
}
