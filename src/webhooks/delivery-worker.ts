import { renderEventPayload } from '../models/event';
import { AsyncResource } from 'node:async_hooks';
import type { Logger } from 'pino';
import type {
  AttemptRecord,
  ClaimedDelivery,
  FailureOutcome,
  WebhookDeliveriesRepository,
} from '../repositories/webhook-deliveries.repository';
import type { DeliveryMetrics } from './delivery-metrics';
import type { WebhookPayloadValidator } from './payload-validator';
import { DEFAULT_RETRY_POLICY, nextAttemptAt, type RetryPolicy } from './retry-schedule';
import type { WebhookSender } from './webhook-sender';

export const INVALID_PAYLOAD_ERROR = 'payload does not match the spec';

export interface DeliveryWorkerDeps {
  repository: Pick<
    WebhookDeliveriesRepository,
    'claimDue' | 'recordSuccess' | 'recordUnsendable' | 'release'
  > & {
    /** The repository's, in a unit of work of its own (webhook-delivery.ts). */
    recordFailure(id: string, result: AttemptRecord, next: Date | null, now: Date): Promise<FailureOutcome>;
  };
  send: WebhookSender;
  /** Opens a sealed endpoint secret (secret-box.ts). */
  openSecret: (sealed: Uint8Array) => string;
  /** Checks the payload as rendered for the endpoint against that version's `webhooks`. */
  validatePayload: WebhookPayloadValidator;
  /** The payload at the endpoint's API version; the recorded (latest) shape when absent. */
  renderPayload?: (eventType: string, payload: unknown, apiVersion: string) => unknown;
  logger: Logger;
  clock?: () => Date;
  retryPolicy?: RetryPolicy;
  /** The jitter's random source (tests pin it). */
  random?: () => number;
  /** How often an idle worker looks for due deliveries (retries come due without a nudge). */
  pollIntervalMs?: number;
  /** At most this many deliveries per claim statement. */
  batchSize?: number;
  /** Attempts in flight at once; a claim never takes more than the free slots. */
  concurrency?: number;
  /**
   * How long a claim is exclusive. It must outlast an attempt (the sender's timeout, 10 s by default) plus
   * recording it; a worker that dies mid-attempt leaves its deliveries to others once it has passed.
   */
  leaseMs?: number;
  metrics?: DeliveryMetrics;
}

export interface DeliveryWorker {
  start(): void;
  /** Looks for due deliveries now (after a commit that enqueued some); coalesces with a look already under way. */
  nudge(): void;
  /** Claims one batch and attempts it; resolves when every attempt is recorded (tests, drains). */
  runOnce(): Promise<number>;
  /** Stops claiming, waits for attempts in flight to be recorded, hands back leases of unstarted ones. */
  stop(): Promise<void>;
}

/**
 * Delivers what the outbox holds. A pipeline rather than batch-by-batch: whenever an attempt ends it claims
 * again, and the claim leases at most the repository's bound per endpoint, so one slow receiver (up to the
 * sender's timeout) holds that many slots and the others keep flowing through the rest. Claims happen on a
 * timer (unref'd, so it never keeps the process alive), on a nudge, after each finished attempt, and at
 * once after a claim that filled every free slot (more may be due).
 */
export function createDeliveryWorker(deps: DeliveryWorkerDeps): DeliveryWorker {
  const clock = deps.clock ?? (() => new Date());
  const policy = deps.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const pollIntervalMs = deps.pollIntervalMs ?? 500;
  const concurrency = deps.concurrency ?? 10;
  const batchSize = deps.batchSize ?? concurrency;
  const leaseMs = deps.leaseMs ?? 60_000;
  const { repository, logger } = deps;

  const inFlight = new Set<Promise<void>>();
  let started = false;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let claiming: Promise<number> | undefined;
  let lookAgain = false;
  let moreDue = false;

  /** Claims up to the free slots and starts each attempt; resolves with the attempts once claimed. */
  async function claimAndStart(): Promise<Array<Promise<void>>> {
    const free = Math.min(batchSize, concurrency - inFlight.size);
    if (free <= 0 || stopping) return [];
    const claimed = await repository.claimDue(clock(), free, leaseMs);
    moreDue = claimed.length === free;
    if (stopping) {
      // stop() arrived while the claim ran: these were never started, so any worker may take them now.
      await repository.release(claimed.map((delivery) => delivery.id));
      return [];
    }
    return claimed.map((delivery) => {
      const attempt = deliver(delivery).finally(() => {
        inFlight.delete(attempt);
        // A slot is free, and so is a place under the endpoint's bound: a claim cut short by the bound
        // (fewer than the free slots) does not say whether more are due, so look rather than wait for the
        // poll. One look per finished attempt at most, coalesced, so an empty queue is not polled in a loop.
        nudge();
      });
      inFlight.add(attempt);
      return attempt;
    });
  }

  async function deliver(delivery: ClaimedDelivery): Promise<void> {
    const log = logger.child({
      delivery_id: delivery.id,
      event_id: delivery.eventId,
      endpoint_id: delivery.endpointId,
    });
    try {
      // What leaves is rendered in the one place the events API renders it too, then at the endpoint's version.
      const recorded = renderEventPayload(delivery);
      const payload = deps.renderPayload
        ? deps.renderPayload(delivery.eventType, recorded, delivery.apiVersion)
        : recorded;
      const validation = deps.validatePayload(delivery.eventType, payload, delivery.apiVersion);
      if (!validation.valid) {
        // Our bug, not the receiver's: never send it, never retry it, make it loud.
        log.error(
          { event_type: delivery.eventType, validation_errors: validation.errors },
          'webhook payload does not match the spec: not sent',
        );
        await repository.recordUnsendable(delivery.id, INVALID_PAYLOAD_ERROR, clock());
        deps.metrics?.delivered('invalid', 0);
        return;
      }
      const secrets = [deps.openSecret(delivery.secretSealed)];
      if (delivery.previousSecretSealed) secrets.push(deps.openSecret(delivery.previousSecretSealed));
      const result = await deps.send({
        url: delivery.url,
        secrets,
        // Standard Webhooks message ids carry the `msg_` prefix; the event id stays the payload's `id`.
        id: `msg_${delivery.eventId}`,
        payload,
      });
      const now = clock();
      const record = {
        statusCode: result.status,
        latencyMs: result.durationMs,
        error: result.ok ? null : (result.error ?? result.failure ?? 'failed'),
      };
      if (result.ok) {
        await repository.recordSuccess(delivery.id, record, now);
        deps.metrics?.delivered('succeeded', result.durationMs);
        return;
      }
      const next = nextAttemptAt(
        { firstAttemptAt: delivery.createdAt, failures: delivery.attempts + 1, now },
        policy,
        deps.random,
      );
      const { endpointDisabled } = await repository.recordFailure(delivery.id, record, next, now);
      deps.metrics?.delivered(next ? 'retrying' : 'failed', result.durationMs);
      log.warn(
        {
          status: result.status,
          failure: result.failure,
          attempts: delivery.attempts + 1,
          next_attempt_at: next,
        },
        next ? 'webhook delivery failed: will retry' : 'webhook delivery failed: given up',
      );
      if (endpointDisabled)
        log.warn({ failing_since: delivery.failingSince }, 'webhook endpoint disabled: failing');
    } catch (error) {
      // Recording failed (or a secret would not open): the lease runs out and the delivery is taken again.
      log.error(
        { err: error },
        'webhook delivery could not be completed; it is retried once its lease expires',
      );
    }
  }

  function schedule(delayMs: number): void {
    if (stopping) return;
    clearTimeout(timer);
    timer = setTimeout(lookFromHome, delayMs);
    timer.unref();
  }

  // A nudge comes from a request that just committed; a timer set there would run the worker in that
  // request's async context, and every claim and attempt after it under the request's deadline
  // (infrastructure/deadline-client.ts) and inside its trace. Claims run in the context the worker was
  // created in instead.
  const lookFromHome = AsyncResource.bind(look);

  function look(): void {
    timer = undefined;
    if (claiming) {
      lookAgain = true;
      return;
    }
    const current = claimAndStart()
      .then((attempts) => attempts.length)
      .catch((error: unknown) => {
        logger.error({ err: error }, 'webhook deliveries could not be claimed');
        return 0;
      });
    claiming = current;
    void current.then(() => {
      claiming = undefined;
      // With every slot busy, the attempt that frees one nudges; otherwise poll unless told to look again.
      if (lookAgain || (moreDue && inFlight.size < concurrency)) {
        lookAgain = false;
        schedule(0);
      } else schedule(pollIntervalMs);
    });
  }

  function nudge(): void {
    if (!started || stopping) return;
    if (claiming) lookAgain = true;
    else schedule(0);
  }

  return {
    start() {
      if (started) return;
      started = true;
      schedule(0);
    },
    nudge,
    async runOnce() {
      const attempts = await claimAndStart();
      await Promise.all(attempts);
      return attempts.length;
    },
    async stop() {
      stopping = true;
      clearTimeout(timer);
      timer = undefined;
      await claiming;
      await Promise.all([...inFlight]);
    },
  };
}
