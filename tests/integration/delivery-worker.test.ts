import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { deliveryQueue } from '../../src/webhooks/webhook-delivery';
import { WebhookDeliveriesRepository } from '../../src/repositories/webhook-deliveries.repository';
import { createDeliveryMetrics } from '../../src/webhooks/delivery-metrics';
import { createDeliveryWorker, type DeliveryWorkerDeps } from '../../src/webhooks/delivery-worker';
import { createWebhookPayloadValidator } from '../../src/webhooks/payload-validator';
import { DEFAULT_RETRY_POLICY } from '../../src/webhooks/retry-schedule';
import { createWebhookSender } from '../../src/webhooks/webhook-sender';
import { createTestDatabase } from '../support/test-database';
import {
  capturingLogger,
  deferred,
  deliveryRow,
  type EventFixture,
  insertEndpoint,
  insertEvent,
  newSecret,
  openSecret,
  retireEndpoints,
  secondPool,
  simulatedClock,
  startReceiver,
  WEBHOOKS_DOCUMENT,
} from '../support/webhook-fixtures';

const HOUR = 60 * 60 * 1000;
const validatePayload = createWebhookPayloadValidator(WEBHOOKS_DOCUMENT);
const send = createWebhookSender({ policy: { allowLoopbackHttp: true }, timeoutMs: 5000 });
const silent = pino({ level: 'silent' });

describe('the webhook delivery worker', () => {
  let handle: DatabaseHandle;
  const endpoints: string[] = [];
  /**
   * Run after the test even when it times out, as a finally is not: a receiver left holding its answers
   * keeps jest from exiting.
   */
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    handle = await createTestDatabase();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    // The tests share the database: what one leaves pending must not reach the next one's worker.
    await retireEndpoints(handle.db, endpoints.splice(0));
  });
  afterAll(async () => {
    await handle?.close();
  });

  function worker(overrides: Partial<DeliveryWorkerDeps> & { db?: Knex } = {}) {
    const { db = handle.db, ...rest } = overrides;
    return createDeliveryWorker({
      repository: deliveryQueue(db, new WebhookDeliveriesRepository({ db })),
      send,
      openSecret,
      validatePayload,
      logger: silent,
      ...rest,
    });
  }

  async function endpoint(url: string, fields: Parameters<typeof insertEndpoint>[2] = {}) {
    const created = await insertEndpoint(handle.db, url, fields);
    endpoints.push(created.id);
    return created;
  }

  async function nextAttemptOf(deliveryId: string): Promise<Date> {
    return (await deliveryRow(handle.db, deliveryId)).next_attempt_at;
  }

  it('when three events of one resource are sent and the first is refused twice, then they arrive in order, signed with both secrets', async () => {
    const receiver = await startReceiver((res, _hit, index) => res.writeHead(index < 2 ? 500 : 204).end());
    try {
      const clock = simulatedClock(new Date('2032-01-01T00:00:00Z'));
      const previous = newSecret();
      const target = await endpoint(receiver.url, {
        previousSecret: previous,
        previousSecretExpiresAt: new Date('2032-01-02T00:00:00Z'),
      });
      const resourceId = randomUUID();
      const events: EventFixture[] = [];
      for (let i = 0; i < 3; i += 1) {
        events.push(await insertEvent(handle.db, [target.id], { resourceId, at: clock.now() }));
      }
      const registry = new Registry();
      const repository = new WebhookDeliveriesRepository({ db: handle.db });
      const metrics = createDeliveryMetrics(registry, () => repository.countPending());
      const subject = worker({ clock: clock.now, metrics });

      const claimedPerRun: number[] = [];
      for (let run = 0; run < 5; run += 1) {
        claimedPerRun.push(await subject.runOnce());
        // Past the first event's retry time (jittered), so only ordering can hold the others back.
        if (run < 2) clock.set(new Date((await nextAttemptOf(events[0]!.deliveryIds[0]!)).getTime() + 1));
      }

      expect(claimedPerRun).toEqual([1, 1, 1, 1, 1]);
      const ids = receiver.received.map((hit) => hit.headers['webhook-id']);
      expect(ids).toEqual([0, 0, 0, 1, 2].map((i) => `msg_${events[i]!.eventId}`));
      for (const hit of receiver.received) {
        const headers = hit.headers as Record<string, string>;
        expect(String(headers['webhook-signature']).split(' ')).toHaveLength(2);
        const payload = new Webhook(target.secret).verify(hit.body, headers);
        expect(new Webhook(previous).verify(hit.body, headers)).toEqual(payload);
      }
      expect(receiver.received.slice(2).map((hit) => JSON.parse(hit.body) as unknown)).toEqual(
        events.map((event) => event.payload),
      );
      expect(await deliveryRow(handle.db, events[0]!.deliveryIds[0]!)).toMatchObject({
        status: 'succeeded',
        attempts: 3,
        last_status_code: 204,
      });
      const text = await registry.metrics();
      expect(text).toContain('webhook_deliveries_total{outcome="retrying"} 2');
      expect(text).toContain('webhook_deliveries_total{outcome="succeeded"} 3');
      expect(text).toContain('webhook_delivery_duration_seconds_count 5');
      expect(text).toContain(`webhook_queue_depth ${await repository.countPending()}`);
    } finally {
      await receiver.close();
    }
  });

  it('when two workers share the queue, then each of 200 events arrives exactly once and in order per resource', async () => {
    const receiver = await startReceiver();
    const other = await secondPool(handle.db);
    const deliveredBy = [0, 0];
    const workers = [handle.db, other.db].map((db, index) =>
      worker({
        db,
        concurrency: 5,
        pollIntervalMs: 50,
        metrics: { delivered: (outcome) => outcome === 'succeeded' && (deliveredBy[index]! += 1) },
      }),
    );
    try {
      const target = await endpoint(receiver.url);
      const resources = Array.from({ length: 40 }, () => randomUUID());
      const events: EventFixture[] = [];
      for (let i = 0; i < 200; i += 1) {
        events.push(
          await insertEvent(handle.db, [target.id], {
            resourceId: resources[i % 40],
            at: new Date(Date.now() - 1000),
          }),
        );
      }

      for (const w of workers) w.start();
      await receiver.untilReceived(200);
      await Promise.all(workers.map((w) => w.stop()));

      const received = receiver.received.map(
        (hit) => JSON.parse(hit.body) as { id: string; data: { id: string } },
      );
      expect(received).toHaveLength(200);
      // Both took part: the claims really competed.
      expect(deliveredBy[0]! + deliveredBy[1]!).toBe(200);
      expect(Math.min(...deliveredBy)).toBeGreaterThan(0);
      expect(new Set(received.map((event) => event.id)).size).toBe(200);
      for (const resourceId of resources) {
        expect(received.filter((e) => e.data.id === resourceId).map((e) => e.id)).toEqual(
          events.filter((e) => e.payload.data.id === resourceId).map((e) => e.eventId),
        );
      }
      const attempts = await handle
        .db('webhook_deliveries')
        .where({ endpoint_id: target.id })
        .select('status', 'attempts');
      expect(
        attempts.every(
          (row: { status: string; attempts: number }) => row.status === 'succeeded' && row.attempts === 1,
        ),
      ).toBe(true);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await other.close();
      await receiver.close();
    }
  });

  it('when one receiver holds its answers, then another endpoint gets all its events meanwhile and the slow one never has more than the bound in flight', async () => {
    const bound = 2;
    const release = deferred();
    const overBound = deferred();
    let inFlight = 0;
    let maxInFlight = 0;
    const slow = await startReceiver((res) => {
      maxInFlight = Math.max(maxInFlight, (inFlight += 1));
      if (inFlight > bound) overBound.resolve();
      res.on('close', () => (inFlight -= 1));
      void release.promise.then(() => res.writeHead(204).end());
    });
    const fast = await startReceiver();
    const subject = worker({
      repository: deliveryQueue(
        handle.db,
        new WebhookDeliveriesRepository({ db: handle.db, endpointConcurrency: bound }),
      ),
      // Neither the sender's timeout nor the lease may end a held attempt while the test runs.
      send: createWebhookSender({ policy: { allowLoopbackHttp: true }, timeoutMs: HOUR }),
      leaseMs: 2 * HOUR,
      concurrency: 10,
      // Only finished attempts and nudges move it: a poll would hide a pipeline that waits for its timer.
      pollIntervalMs: HOUR,
    });
    cleanups.push(
      () => slow.close(),
      () => fast.close(),
      () => {
        release.resolve();
        return subject.stop();
      },
    );
    const [slowTarget, fastTarget] = [await endpoint(slow.url), await endpoint(fast.url)];
    // The slow partner's backlog was queued first: by next_attempt_at alone it would take every slot.
    const slowEvents: EventFixture[] = [];
    const fastEvents: EventFixture[] = [];
    for (let i = 0; i < 30; i += 1)
      slowEvents.push(await insertEvent(handle.db, [slowTarget.id], { at: new Date(Date.now() - 2000) }));
    for (let i = 0; i < 30; i += 1)
      fastEvents.push(await insertEvent(handle.db, [fastTarget.id], { at: new Date(Date.now() - 1000) }));

    subject.start();
    await Promise.race([Promise.all([fast.untilReceived(30), slow.untilReceived(bound)]), overBound.promise]);
    const slowMeanwhile = { received: slow.received.length, held: inFlight };
    release.resolve();
    await Promise.race([slow.untilReceived(30), overBound.promise]);
    await subject.stop();

    const eventIds = (hits: typeof fast.received) =>
      hits.map((hit) => (JSON.parse(hit.body) as { id: string }).id).sort();
    expect(maxInFlight).toBeLessThanOrEqual(bound);
    expect(eventIds(fast.received)).toEqual(fastEvents.map((e) => e.eventId).sort());
    expect(slowMeanwhile).toEqual({ received: bound, held: bound });
    // Its first ones were its oldest, and the rest followed as they were answered, with no poll.
    expect(eventIds(slow.received.slice(0, bound))).toEqual(
      slowEvents
        .slice(0, bound)
        .map((e) => e.eventId)
        .sort(),
    );
    expect(eventIds(slow.received)).toEqual(slowEvents.map((e) => e.eventId).sort());
  });

  it('when a worker died mid-attempt, then its delivery is sent again once the lease has expired', async () => {
    const receiver = await startReceiver();
    try {
      const clock = simulatedClock(new Date('2032-02-01T00:00:00Z'));
      const target = await endpoint(receiver.url);
      const event = await insertEvent(handle.db, [target.id], { at: clock.now() });
      const dead = new WebhookDeliveriesRepository({ db: handle.db });
      await dead.claimDue(clock.now(), 10, 60_000);
      const subject = worker({ clock: clock.now, leaseMs: 60_000 });

      clock.advance(59_999);
      const whileLeased = await subject.runOnce();
      clock.advance(1);
      const afterLease = await subject.runOnce();

      expect([whileLeased, afterLease]).toEqual([0, 1]);
      expect(receiver.received.map((hit) => hit.headers['webhook-id'])).toEqual([`msg_${event.eventId}`]);
      expect(await deliveryRow(handle.db, event.deliveryIds[0]!)).toMatchObject({
        status: 'succeeded',
        attempts: 1,
      });
    } finally {
      await receiver.close();
    }
  });

  it('when the receiver is down for an hour, then the attempts back off and the first one after it is back succeeds', async () => {
    const start = new Date('2032-03-01T00:00:00Z');
    const backAt = new Date(start.getTime() + HOUR);
    const clock = simulatedClock(start);
    const receiver = await startReceiver((res) => res.writeHead(clock.now() < backAt ? 503 : 204).end());
    try {
      const target = await endpoint(receiver.url);
      const event = await insertEvent(handle.db, [target.id], { at: start });
      // The jitter pinned at its middle: each wait is half the exponential ceiling (15 s, 30 s, 60 s, ...),
      // which stops doubling at the one-hour cap (the wait after the eighth failure is 30 min, not 32).
      const subject = worker({ clock: clock.now, random: () => 0.5, retryPolicy: DEFAULT_RETRY_POLICY });

      const attemptsAt: number[] = [];
      while (receiver.received.length === attemptsAt.length) {
        attemptsAt.push((clock.now().getTime() - start.getTime()) / 1000);
        expect(await subject.runOnce()).toBe(1);
        const row = await deliveryRow(handle.db, event.deliveryIds[0]!);
        if (row.status !== 'pending') break;
        clock.set(row.next_attempt_at);
      }

      const whileDown = attemptsAt.filter((s) => s < HOUR / 1000);
      expect(whileDown).toEqual([0, 15, 45, 105, 225, 465, 945, 1905]);
      expect(attemptsAt.slice(whileDown.length)).toEqual([3705]);
      expect(await deliveryRow(handle.db, event.deliveryIds[0]!)).toMatchObject({
        status: 'succeeded',
        attempts: 9,
      });
    } finally {
      await receiver.close();
    }
  });

  it('when a payload does not match its schema, then it is never sent, the delivery fails and an error is logged', async () => {
    const receiver = await startReceiver();
    try {
      const clock = simulatedClock(new Date('2032-04-01T00:00:00Z'));
      const target = await endpoint(receiver.url);
      const event = await insertEvent(handle.db, [target.id], {
        at: clock.now(),
        data: { id: randomUUID(), name: 42 },
      });
      const { logger, lines } = capturingLogger();
      const outcomes: string[] = [];
      const subject = worker({
        clock: clock.now,
        logger,
        metrics: { delivered: (outcome) => outcomes.push(outcome) },
      });

      await subject.runOnce();

      expect(receiver.received).toHaveLength(0);
      expect(await deliveryRow(handle.db, event.deliveryIds[0]!)).toMatchObject({
        status: 'failed',
        attempts: 0,
        last_error: 'payload does not match the spec',
      });
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 50,
          event_id: event.eventId,
          validation_errors: ['/data/name must be string'],
        }),
      );
      expect(outcomes).toEqual(['invalid']);
    } finally {
      await receiver.close();
    }
  });

  it('when an endpoint failing for over five days fails again, then it is disabled as failing and its deliveries wait', async () => {
    const receiver = await startReceiver((res) => res.writeHead(500).end());
    try {
      const clock = simulatedClock(new Date('2032-05-01T00:00:00Z'));
      const target = await endpoint(receiver.url, { failingSince: new Date('2032-04-26T00:00:00Z') });
      const first = await insertEvent(handle.db, [target.id], { at: clock.now() });
      const second = await insertEvent(handle.db, [target.id], { at: clock.now() });
      const { logger, lines } = capturingLogger();
      const subject = worker({ clock: clock.now, logger, concurrency: 1 });

      await subject.runOnce();
      clock.advance(HOUR);
      const afterDisabled = await subject.runOnce();

      expect(await handle.db('webhook_endpoints').where({ id: target.id }).first()).toMatchObject({
        status: 'disabled',
        disabled_reason: 'failing',
        disabled_at: new Date('2032-05-01T00:00:00Z'),
      });
      expect(afterDisabled).toBe(0);
      expect(receiver.received).toHaveLength(1);
      const pending = [first, second].map((e) => e.deliveryIds[0]!);
      expect(
        (await Promise.all(pending.map((id) => deliveryRow(handle.db, id)))).map((r) => r.status),
      ).toEqual(['pending', 'pending']);
      expect(lines).toContainEqual(
        expect.objectContaining({ endpoint_id: target.id, msg: 'webhook endpoint disabled: failing' }),
      );
    } finally {
      await receiver.close();
    }
  });

  it('when stop() is called during an attempt, then it waits for the attempt and records it', async () => {
    const arrived = deferred();
    const answer = deferred();
    const receiver = await startReceiver((res) => {
      arrived.resolve();
      void answer.promise.then(() => res.writeHead(204).end());
    });
    const subject = worker({ concurrency: 1 });
    try {
      const target = await endpoint(receiver.url);
      const event = await insertEvent(handle.db, [target.id], { at: new Date(Date.now() - 1000) });
      subject.start();
      await arrived.promise;

      let stopped = false;
      const stopping = subject.stop().then(() => (stopped = true));
      await new Promise((resolve) => setImmediate(resolve));
      const stoppedBeforeAnswer = stopped;
      answer.resolve();
      await stopping;

      expect(stoppedBeforeAnswer).toBe(false);
      expect(await deliveryRow(handle.db, event.deliveryIds[0]!)).toMatchObject({
        status: 'succeeded',
        attempts: 1,
        lease_expires_at: null,
      });
    } finally {
      answer.resolve();
      await subject.stop();
      await receiver.close();
    }
  });

  it('when stop() is called while a claim is under way, then what it claimed is released unsent', async () => {
    const receiver = await startReceiver();
    const claimed = deferred();
    const gate = deferred();
    const queue = deliveryQueue(handle.db, new WebhookDeliveriesRepository({ db: handle.db }));
    const subject = worker({
      repository: {
        ...queue,
        claimDue: async (...args) => {
          const deliveries = await queue.claimDue(...args);
          claimed.resolve();
          await gate.promise;
          return deliveries;
        },
      },
      concurrency: 3,
    });
    try {
      const target = await endpoint(receiver.url);
      const events: EventFixture[] = [];
      for (let i = 0; i < 3; i += 1)
        events.push(await insertEvent(handle.db, [target.id], { at: new Date(Date.now() - 1000) }));
      subject.start();
      await claimed.promise;

      const stopping = subject.stop();
      gate.resolve();
      await stopping;

      expect(receiver.received).toHaveLength(0);
      const rows = await Promise.all(events.map((e) => deliveryRow(handle.db, e.deliveryIds[0]!)));
      expect(rows.map((r) => [r.status, r.attempts, r.lease_expires_at])).toEqual(
        Array(3).fill(['pending', 0, null]),
      );
    } finally {
      gate.resolve();
      await subject.stop();
      await receiver.close();
    }
  });
});
