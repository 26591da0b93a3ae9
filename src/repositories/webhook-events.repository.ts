import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';
import type { ResourceOwner } from '../models/owner';
import { auditRowOf, type NewAuditEvent } from './audit.repository';
import type { WebhookDelivery, WebhookEventName, WebhookEventPayloads } from '../models/webhook';
import { isoOrNull } from '../utils/instant';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';
import { keysetQuery, newestFirst } from './keyset-query';

/** Who may see an event: the owner of the resource it is about, or the administrators. */
export type WebhookAudience = { userId: string } | { clientId: string } | 'administrators';

export interface NewWebhookEvent<Type extends WebhookEventName> {
  type: Type;
  resourceType: string;
  resourceId: string;
  data: WebhookEventPayloads[Type]['data'];
}

interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  status: WebhookDelivery['status'];
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_latency_ms: number | null;
  last_error: string | null;
  created_at: Date;
  completed_at: Date | null;
}

export type DeliveryListRow = DeliveryRow & KeysetRow;

const DELIVERY_COLUMNS = [
  'd.id',
  'd.event_id',
  'e.type as event_type',
  'd.status',
  'd.attempts',
  'd.next_attempt_at',
  'd.last_attempt_at',
  'd.last_status_code',
  'd.last_latency_ms',
  'd.last_error',
  'd.created_at',
  'd.completed_at',
] as const;

function toDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    last_attempt_at: isoOrNull(row.last_attempt_at),
    last_status_code: row.last_status_code,
    last_latency_ms: row.last_latency_ms,
    last_error: row.last_error,
    created_at: row.created_at.toISOString(),
    completed_at: isoOrNull(row.completed_at),
  };
}

function audienceCondition(audience: WebhookAudience): { sql: string; bindings: string[] } {
  if (audience === 'administrators') {
    return {
      sql: "e.owner_user_id IN (SELECT id FROM users WHERE role = 'admin' AND status = 'active')",
      bindings: [],
    };
  }
  return 'userId' in audience
    ? { sql: 'e.owner_user_id = ?', bindings: [audience.userId] }
    : { sql: 'e.owner_client_id = ?', bindings: [audience.clientId] };
}

/**
 * The audience as `webhook_events.audience` keeps it, for the events API: who may read the event is who its
 * deliveries were chosen for, so the webhooks and the list follow one rule.
 */
export function audienceKey(audience: WebhookAudience): string {
  if (audience === 'administrators') return 'administrators';
  return 'userId' in audience ? `user:${audience.userId}` : `client:${audience.clientId}`;
}

/** At most this many events are queued again by one recovery; the caller is told to call again for more. */
export const RECOVERY_BATCH = 1000;

/** The transactional outbox and the delivery log, as the API writes and reads them. */
export class WebhookEventsRepository {
  constructor(private readonly deps: { db: Database }) {}

  /**
   * The event, in the caller's transaction, and a pending delivery for every endpoint subscribed to its
   * type that may see it: one statement, so a change that rolls back leaves neither. Returns how many
   * deliveries it queued.
   */
  async record<Type extends WebhookEventName>(
    event: NewWebhookEvent<Type>,
    audience: WebhookAudience,
    trx: Knex.Transaction,
    audit?: NewAuditEvent,
  ): Promise<number> {
    return this.recordMany([event], audience, trx, audit);
  }

  /** Events of one audience at once (seeding many users), still one statement; returns the deliveries queued. */
  async recordMany<Type extends WebhookEventName>(
    events: ReadonlyArray<NewWebhookEvent<Type>>,
    audience: WebhookAudience,
    trx: Knex.Transaction,
    /**
     * The audit row of the change the events are about, written by the same statement: one round trip
     * fewer for every audited write that emits an event (each round trip is a socket write and a wake-up
     * of the backend, the largest single cost of a write).
     */
    audit?: NewAuditEvent,
  ): Promise<number> {
    const condition = audienceCondition(audience);
    return this.insertEvents(
      events,
      audience,
      {
        sql: `event.type = ANY (e.event_types) AND ${condition.sql}`,
        bindings: condition.bindings,
      },
      trx,
      audit,
    );
  }

  /**
   * A notice to the owner's other enabled endpoints, whatever they subscribe to (an endpoint disabled for
   * failing: the one disabled is not told, it would not answer). Returns the deliveries queued.
   */
  async recordNotice<Type extends WebhookEventName>(
    event: NewWebhookEvent<Type>,
    owner: ResourceOwner,
    exceptEndpointId: string,
    trx: Knex.Transaction,
  ): Promise<number> {
    const condition = audienceCondition(owner);
    return this.insertEvents(
      [event],
      owner,
      {
        sql: `e.status = 'enabled' AND e.id <> ?::uuid AND ${condition.sql}`,
        bindings: [exceptEndpointId, ...condition.bindings],
      },
      trx,
    );
  }

  /**
   * Queues again, for one endpoint, each event since `since` it has not received: every delivery of it to
   * the endpoint failed (none succeeded, none is pending), at most `RECOVERY_BATCH` of them, oldest first.
   * `found` is how many such events there were, up to one more than the batch, which tells the caller more
   * remain. Run with the endpoint's row locked (the service does): two recoveries at once would each see
   * the other's events as still failed and queue them twice; the lock makes the second wait and then see
   * the first's pending deliveries.
   */
  async recover(
    endpointId: string,
    since: string,
    trx: Knex.Transaction,
  ): Promise<{ queued: number; found: number }> {
    // A delivery's created_at is its transaction's start, a little before its event's occurred_at (taken
    // by the API inside that transaction): the index range starts an hour early, the event's own time decides.
    const { rows } = await trx.raw<{ rows: Array<{ queued: number | string; found: number | string }> }>(
      `WITH missed AS (
         SELECT d.event_id, min(d.event_sequence) AS event_sequence, (array_agg(d.resource_id))[1] AS resource_id
           FROM webhook_deliveries d
           JOIN webhook_events ev ON ev.id = d.event_id
          WHERE d.endpoint_id = ?::uuid
            AND d.created_at >= ?::timestamptz - interval '1 hour'
            AND ev.occurred_at >= ?::timestamptz
          GROUP BY d.event_id
         HAVING bool_and(d.status = 'failed')
          ORDER BY min(d.event_sequence)
          LIMIT ?::int
       ),
       queued AS (
         INSERT INTO webhook_deliveries (endpoint_id, event_id, event_sequence, resource_id)
         SELECT ?::uuid, event_id, event_sequence, resource_id
           FROM missed
          ORDER BY event_sequence
          LIMIT ?::int
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM queued) AS queued, (SELECT count(*) FROM missed) AS found`,
      [endpointId, since, since, RECOVERY_BATCH + 1, endpointId, RECOVERY_BATCH],
    );
    return { queued: Number(rows[0]!.queued), found: Number(rows[0]!.found) };
  }

  /**
   * The events and, in the same statement, their deliveries to the endpoints `target` picks (`e` the
   * endpoint, `event` the event), so a change that rolls back leaves neither.
   */
  private async insertEvents<Type extends WebhookEventName>(
    events: ReadonlyArray<NewWebhookEvent<Type>>,
    audience: WebhookAudience,
    target: { sql: string; bindings: string[] },
    trx: Knex.Transaction,
    audit?: NewAuditEvent,
  ): Promise<number> {
    if (events.length === 0) {
      if (audit) await trx('audit_events').insert(auditRowOf(audit));
      return 0;
    }
    const rows = events.map((event) => ({ event, ...envelope(event) }));
    const auditRow = audit ? auditRowOf(audit) : undefined;
    // A data-modifying CTE runs whether or not the statement reads it.
    const auditCte = auditRow
      ? `, audit AS (
         INSERT INTO audit_events (actor_type, actor_id, action, resource_type, resource_id, request_id, details)
         VALUES (?, ?::uuid, ?, ?, ?, ?, ?::jsonb)
       )`
      : '';
    const { rowCount } = await trx.raw<{ rowCount: number }>(
      `WITH event AS (
         INSERT INTO webhook_events (id, type, occurred_at, resource_type, resource_id, payload, audience)
         VALUES ${rows.map(() => '(?::uuid, ?, ?::timestamptz, ?, ?::uuid, ?::jsonb, ?)').join(', ')}
         RETURNING id, type, sequence, resource_id
       )${auditCte}
       INSERT INTO webhook_deliveries (endpoint_id, event_id, event_sequence, resource_id)
       SELECT e.id, event.id, event.sequence, event.resource_id
       FROM event JOIN webhook_endpoints e ON ${target.sql}
       ORDER BY event.sequence`,
      [
        ...rows.flatMap(({ event, id, occurredAt, payload }) => [
          id,
          event.type,
          occurredAt,
          event.resourceType,
          event.resourceId,
          JSON.stringify(payload),
          audienceKey(audience),
        ]),
        ...(auditRow
          ? [
              auditRow.actor_type,
              auditRow.actor_id,
              auditRow.action,
              auditRow.resource_type,
              auditRow.resource_id,
              auditRow.request_id,
              auditRow.details,
            ]
          : []),
        ...target.bindings,
      ],
    );
    return rowCount;
  }

  /** An event for one endpoint only, whatever it subscribes to (the test event). */
  async recordFor<Type extends WebhookEventName>(
    endpointId: string,
    event: NewWebhookEvent<Type>,
    owner: ResourceOwner,
    trx: Knex.Transaction,
  ): Promise<WebhookDelivery> {
    const { id, occurredAt, payload } = envelope(event);
    const [inserted] = await trx('webhook_events')
      .insert({
        id,
        type: event.type,
        occurred_at: occurredAt,
        resource_type: event.resourceType,
        resource_id: event.resourceId,
        payload: JSON.stringify(payload),
        audience: audienceKey(owner),
      })
      .returning<Array<{ sequence: number }>>('sequence');
    const [delivery] = await trx('webhook_deliveries')
      .insert({
        endpoint_id: endpointId,
        event_id: id,
        event_sequence: inserted!.sequence,
        resource_id: event.resourceId,
      })
      .returning<Array<{ id: string }>>('id');
    return (await this.findDelivery(endpointId, delivery!.id, trx))!;
  }

  /** The same event queued again for the endpoint, as a new delivery: the first keeps its outcome. */
  async redeliver(
    endpointId: string,
    deliveryId: string,
    trx: Knex.Transaction,
  ): Promise<WebhookDelivery | undefined> {
    const { rows } = await trx.raw<{ rows: Array<{ id: string }> }>(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_sequence, resource_id)
       SELECT endpoint_id, event_id, event_sequence, resource_id
       FROM webhook_deliveries WHERE id = ? AND endpoint_id = ?
       RETURNING id`,
      [deliveryId, endpointId],
    );
    const copy = rows[0];
    if (!copy) return undefined;
    return this.findDelivery(endpointId, copy.id, trx);
  }

  async findDelivery(
    endpointId: string,
    id: string,
    db: Knex = this.deps.db,
  ): Promise<WebhookDelivery | undefined> {
    const row = (await db('webhook_deliveries as d')
      .join('webhook_events as e', 'e.id', 'd.event_id')
      .select(DELIVERY_COLUMNS)
      .where({ 'd.id': id, 'd.endpoint_id': endpointId })
      .first()) as DeliveryRow | undefined;
    return row ? toDelivery(row) : undefined;
  }

  /** An endpoint's deliveries, newest first, after the keyset `after`. */
  listDeliveries(
    endpointId: string,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<DeliveryListRow[]> {
    const { db } = this.deps;
    const query = db('webhook_deliveries as d')
      .join('webhook_events as e', 'e.id', 'd.event_id')
      .select(DELIVERY_COLUMNS)
      .where('d.endpoint_id', endpointId);
    return keysetQuery<DeliveryRow>(db, query, newestFirst('d.created_at', 'd.id'), limit, after);
  }

  static toDelivery = toDelivery;
}

/** The payload as sent: `{ id, type, occurred_at, data }`, the shape every event in the spec shares. */
function envelope<Type extends WebhookEventName>(event: NewWebhookEvent<Type>) {
  const id = randomUUID();
  const occurredAt = new Date().toISOString();
  return { id, occurredAt, payload: { id, type: event.type, occurred_at: occurredAt, data: event.data } };
}
