import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';

/** A delivery leased to one worker, with everything its attempt needs. */
export interface ClaimedDelivery {
  id: string;
  /** Attempts made before this one. */
  attempts: number;
  /** When the delivery was enqueued: the retry period is counted from here. */
  createdAt: Date;
  eventId: string;
  eventType: string;
  /** The envelope as the outbox recorded it, in the latest version's shape. */
  payload: unknown;
  /** The endpoint's API version: the payload is rendered at it before it is signed. */
  apiVersion: string;
  endpointId: string;
  url: string;
  /** bytea: a Buffer from pg, a Uint8Array from PGlite. */
  secretSealed: Uint8Array;
  /** Only while the rotation's grace period runs; null otherwise. */
  previousSecretSealed: Uint8Array | null;
  failingSince: Date | null;
}

const MAX_ERROR_LENGTH = 500;
const isHttpStatus = (status: number | null): status is number =>
  status !== null && status >= 100 && status <= 599;

/** What one attempt came to, as the delivery log keeps it. */
export interface AttemptRecord {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export interface FailureOutcome {
  /** The endpoint was disabled by this failure (it had been failing for longer than `disableAfterMs`). */
  endpointDisabled: boolean;
  /** The delivery's endpoint; absent when the delivery was no longer pending (nothing was recorded). */
  endpointId?: string;
}

interface ClaimedRow {
  id: string;
  attempts: number;
  created_at: Date;
  event_id: string;
  event_type: string;
  payload: unknown;
  endpoint_id: string;
  url: string;
  secret_sealed: Uint8Array;
  previous_secret_sealed: Uint8Array | null;
  failing_since: Date | null;
  api_version: string;
}

/** Svix's and Stripe's figure: days of nothing but failures before an endpoint is switched off. */
export const DEFAULT_DISABLE_AFTER_MS = 5 * 24 * 60 * 60 * 1000;

/** Attempts in flight to one endpoint, across every worker and instance. */
export const DEFAULT_ENDPOINT_CONCURRENCY = 2;

/**
 * The outbound queue: workers claim due deliveries with a lease, attempt them outside any transaction and
 * record the outcome. Every time-dependent statement takes `now` from the caller's clock (never SQL now()),
 * so tests drive time and every instance judges leases by one rule. The statements stand alone by design:
 * a claim must commit before the attempt starts, and an outcome is recorded whatever else happens.
 */
export class WebhookDeliveriesRepository {
  private readonly disableAfterMs: number;
  private readonly endpointConcurrency: number;

  constructor(
    private readonly deps: { db: Database; disableAfterMs?: number; endpointConcurrency?: number },
  ) {
    this.disableAfterMs = deps.disableAfterMs ?? DEFAULT_DISABLE_AFTER_MS;
    this.endpointConcurrency = deps.endpointConcurrency ?? DEFAULT_ENDPOINT_CONCURRENCY;
  }

  /**
   * Leases up to `limit` due deliveries for `leaseMs`. Two workers never take the same row: the candidate
   * rows are locked `FOR UPDATE OF d SKIP LOCKED`, so a row another worker is leasing is skipped rather than
   * waited for, and a row whose lease that worker already committed is re-checked after the lock (READ
   * COMMITTED re-evaluates the WHERE on the latest version) and dropped because its lease is now live.
   *
   * Fair across endpoints, so that a receiver answering at the sender's timeout cannot hold every slot:
   * an endpoint has at most `endpointConcurrency` deliveries leased, counted from the live leases in the
   * table (every worker's and instance's), and a claim takes each endpoint's earliest due delivery, then
   * each one's second, and so on (rank, then `next_attempt_at`). The bound is soft: two claims that run at
   * once can each read the same lease count. Usually they then pick the same candidates, and the second
   * skips the rows the first has locked (or drops them on the re-check once it has leased them); but when
   * their candidates differ (different clocks, or a lease that expired between their `now`s), each can take
   * up to the bound. So an endpoint has at most `endpointConcurrency` times the number of claims racing,
   * never more, and the next claim sees every committed lease. The statement costs a probe per enabled
   * endpoint, not a walk of the backlog: a disabled endpoint's deliveries are never read.
   *
   * Order per endpoint and resource: a delivery is due only when no earlier pending delivery (smaller
   * `event_sequence`) exists for the same endpoint and resource, so one batch takes at most the oldest of
   * them and the next waits until it succeeded or was given up. Such a delivery is filtered before the
   * endpoint's share is cut, so it does not use up the bound. The subquery reads this statement's
   * snapshot, which errs only the safe way (an earlier delivery completed meanwhile still counts as pending,
   * and the later one is taken by the next poll). It relies on sequences being taken in commit order for
   * one resource, which holds because a change locks the resource's row before it writes its event.
   */
  async claimDue(now: Date, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const at = now.toISOString();
    const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
    const cap = this.endpointConcurrency;
    const { rows } = await this.deps.db.raw<{ rows: ClaimedRow[] }>(
      // Window functions and FOR UPDATE cannot share a SELECT: ranking and locking are separate steps. The
      // plan is steered twice. Each endpoint's share is cut by a constant LIMIT, then by its leases: a LIMIT
      // computed from the row leaves the planner guessing a tenth of the backlog, and it then hashes the whole
      // table to lock ten rows. OFFSET 0 keeps the ordering check a probe of the resource_order index per
      // row: as an anti-join the planner may materialise the endpoint's whole queue once per row instead.
      `WITH leased AS (
         SELECT endpoint_id, count(*) AS n
           FROM webhook_deliveries
          WHERE status = 'pending' AND lease_expires_at > ?::timestamptz
          GROUP BY endpoint_id
       ),
       candidates AS (
         SELECT c.id, c.next_attempt_at, c.event_sequence, c.rank
           FROM webhook_endpoints e
           LEFT JOIN leased ON leased.endpoint_id = e.id
          CROSS JOIN LATERAL (
                SELECT d.id, d.next_attempt_at, d.event_sequence,
                       row_number() OVER (ORDER BY d.next_attempt_at, d.event_sequence) AS rank
                  FROM webhook_deliveries d
                 WHERE COALESCE(leased.n, 0) < ?::int
                   AND d.endpoint_id = e.id
                   AND d.status = 'pending'
                   AND d.next_attempt_at <= ?::timestamptz
                   AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= ?::timestamptz)
                   AND NOT EXISTS (
                         SELECT 1
                           FROM webhook_deliveries earlier
                          WHERE earlier.endpoint_id = d.endpoint_id
                            AND earlier.resource_id = d.resource_id
                            AND earlier.status = 'pending'
                            AND earlier.event_sequence < d.event_sequence
                         OFFSET 0)
                 ORDER BY d.next_attempt_at, d.event_sequence
                 LIMIT ?::int) c
          WHERE e.status = 'enabled'
            AND c.rank <= ?::int - COALESCE(leased.n, 0)
       ),
       due AS (
         SELECT d.id
           FROM webhook_deliveries d
           JOIN candidates c ON c.id = d.id
          WHERE d.status = 'pending'
            AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= ?::timestamptz)
          ORDER BY c.rank, c.next_attempt_at, c.event_sequence
          LIMIT ?
            FOR UPDATE OF d SKIP LOCKED
       )
       UPDATE webhook_deliveries d
          SET lease_expires_at = ?::timestamptz
         FROM due, webhook_events ev, webhook_endpoints e
        WHERE d.id = due.id AND ev.id = d.event_id AND e.id = d.endpoint_id
       RETURNING d.id, d.attempts, d.created_at, ev.id AS event_id, ev.type AS event_type, ev.payload,
                 e.id AS endpoint_id, e.url, e.secret_sealed, e.api_version,
                 CASE WHEN e.previous_secret_expires_at > ?::timestamptz THEN e.previous_secret_sealed END
                   AS previous_secret_sealed,
                 e.failing_since`,
      [at, cap, at, at, cap, cap, at, limit, leaseUntil, at],
    );
    return rows.map(toClaimedDelivery);
  }

  /** The receiver took it: the delivery is done and the endpoint is no longer failing. */
  async recordSuccess(id: string, result: AttemptRecord, now: Date): Promise<void> {
    const at = now.toISOString();
    // One statement: the delivery and its endpoint change together without a transaction of their own.
    await this.deps.db.raw(
      `WITH done AS (
         UPDATE webhook_deliveries
            SET status = 'succeeded', attempts = attempts + 1, last_attempt_at = ?::timestamptz,
                last_status_code = ?, last_latency_ms = ?, last_error = NULL,
                completed_at = ?::timestamptz, lease_expires_at = NULL
          WHERE id = ? AND status = 'pending'
         RETURNING endpoint_id)
       UPDATE webhook_endpoints e
          SET failing_since = NULL
         FROM done
        WHERE e.id = done.endpoint_id AND e.failing_since IS NOT NULL`,
      [at, result.statusCode, result.latencyMs, at, id],
    );
  }

  /**
   * The attempt failed: retry at `next`, or give up when `next` is null. The endpoint counts as failing
   * from its first failure since its last success; failing for longer than `disableAfterMs` disables it
   * (reason `failing`, which its owner sees), in the caller's transaction, with the failure that tipped it.
   *
   * "Continuously" needs attempts to go on: while any delivery is pending the endpoint is tried at least
   * every `maxDelayMs` of the retry policy. When a give-up leaves nothing pending, nothing will be tried
   * until the next event, so the streak ends there; otherwise one failure after weeks of silence would find
   * an old `failing_since` and disable an endpoint that failed once.
   */
  async recordFailure(
    id: string,
    result: AttemptRecord,
    next: Date | null,
    now: Date,
    trx: Knex.Transaction,
  ): Promise<FailureOutcome> {
    const at = now.toISOString();
    const [delivery] = await trx('webhook_deliveries')
      .where({ id, status: 'pending' })
      .update({
        attempts: trx.raw('attempts + 1'),
        last_attempt_at: at,
        // The log is served as the spec's WebhookDelivery: a status no HTTP client should see (a receiver
        // can answer 999) is kept as none, and an error as at most 500 characters.
        last_status_code: isHttpStatus(result.statusCode) ? result.statusCode : null,
        last_latency_ms: result.latencyMs,
        last_error: result.error === null ? null : result.error.slice(0, MAX_ERROR_LENGTH),
        lease_expires_at: null,
        ...(next ? { next_attempt_at: next.toISOString() } : { status: 'failed', completed_at: at }),
      })
      .returning<Array<{ endpoint_id: string }>>('endpoint_id');
    if (!delivery) return { endpointDisabled: false };
    const endpointDisabled = await this.markFailing(delivery.endpoint_id, now, trx);
    if (!endpointDisabled && next === null) await this.endStreakIfIdle(delivery.endpoint_id, trx);
    return { endpointDisabled, endpointId: delivery.endpoint_id };
  }

  /**
   * Gives up on a delivery that was never attempted (its payload does not match the spec): our fault,
   * not the receiver's, so the endpoint's failing streak is left alone.
   */
  async recordUnsendable(id: string, error: string, now: Date): Promise<void> {
    const at = now.toISOString();
    await this.deps
      .db('webhook_deliveries')
      .where({ id, status: 'pending' })
      .update({ status: 'failed', last_error: error, completed_at: at, lease_expires_at: null });
  }

  /** Hands back leases of deliveries claimed but not attempted (a worker stopping), for any worker to take. */
  async release(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.deps
      .db('webhook_deliveries')
      .whereIn('id', ids)
      .where({ status: 'pending' })
      .update({ lease_expires_at: null });
  }

  /** Deliveries not yet succeeded or given up, due or scheduled (the queue-depth gauge). */
  async countPending(): Promise<number> {
    const row = (await this.deps
      .db('webhook_deliveries')
      .where({ status: 'pending' })
      .count<Array<{ count: number | string }>>({ count: '*' })
      .first())!;
    return Number(row.count);
  }

  private async markFailing(endpointId: string, now: Date, trx: Knex.Transaction): Promise<boolean> {
    const at = now.toISOString();
    await trx('webhook_endpoints')
      .where({ id: endpointId })
      .whereNull('failing_since')
      .update({ failing_since: at });
    const disabledBefore = new Date(now.getTime() - this.disableAfterMs).toISOString();
    // Conditional on `enabled`: of two workers whose failures both pass the threshold, one disables it.
    const disabled = await trx('webhook_endpoints')
      .where({ id: endpointId, status: 'enabled' })
      .where('failing_since', '<=', disabledBefore)
      .update({
        status: 'disabled',
        disabled_reason: 'failing',
        disabled_at: at,
        updated_at: at,
        version: trx.raw('version + 1'),
      });
    return disabled > 0;
  }

  private async endStreakIfIdle(endpointId: string, trx: Knex.Transaction): Promise<void> {
    // A delivery enqueued meanwhile and not yet committed is not seen: it simply starts a new streak.
    await trx('webhook_endpoints')
      .where({ id: endpointId })
      .whereNotExists(
        trx('webhook_deliveries').select(trx.raw('1')).where({ endpoint_id: endpointId, status: 'pending' }),
      )
      .update({ failing_since: null });
  }
}

function toClaimedDelivery(row: ClaimedRow): ClaimedDelivery {
  return {
    id: row.id,
    attempts: row.attempts,
    createdAt: row.created_at,
    eventId: row.event_id,
    eventType: row.event_type,
    payload: row.payload,
    endpointId: row.endpoint_id,
    url: row.url,
    secretSealed: row.secret_sealed,
    previousSecretSealed: row.previous_secret_sealed,
    failingSince: row.failing_since,
    apiVersion: row.api_version,
  };
}
