import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DeliveryOutcome = 'succeeded' | 'retrying' | 'failed' | 'invalid';

/** What the delivery worker reports; the worker runs without them too. */
export interface DeliveryMetrics {
  /** One attempt ended (`invalid`: never sent, the payload does not match the spec). */
  delivered(outcome: DeliveryOutcome, durationMs: number): void;
}

// Seconds; a loopback receiver answers in a millisecond, a slow one runs into the 10 s attempt timeout.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Registers the webhook metrics on the app's registry: deliveries by outcome, attempt durations, and the
 * queue depth, read from the database at scrape time (`queueDepth`, e.g. the repository's countPending).
 * The depth is the whole queue's, so every instance reports the same figure: aggregate it with max, not sum.
 */
export function createDeliveryMetrics(
  registry: Registry,
  queueDepth: () => Promise<number>,
): DeliveryMetrics {
  const deliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: succeeded, retrying (failed, another attempt is scheduled), failed (given up), invalid (payload does not match the spec, never sent).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'webhook_delivery_duration_seconds',
    help: 'Duration of webhook delivery attempts, from the target check to the end of the response.',
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'webhook_queue_depth',
    help: 'Webhook deliveries pending (due now or scheduled for a retry), across all instances.',
    registers: [registry],
    async collect() {
      this.set(await queueDepth());
    },
  });
  return {
    delivered(outcome, durationMs) {
      deliveries.inc({ outcome });
      if (outcome !== 'invalid') duration.observe(durationMs / 1000);
    },
  };
}
