import { randomUUID } from 'node:crypto';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import type { Knex } from 'knex';
import { withUnitOfWork } from '../../src/infrastructure/unit-of-work';
import {
  WebhookDeliveriesRepository,
  type AttemptRecord,
} from '../../src/repositories/webhook-deliveries.repository';
import { createTestDatabase } from '../support/test-database';
import {
  deliveryRow,
  type EventFixture,
  insertEndpoint,
  insertEvent,
  newSecret,
  retireEndpoints,
  secondPool,
} from '../support/webhook-fixtures';

const DAY = 24 * 60 * 60 * 1000;
const LEASE = 30_000;
const attempt = { statusCode: 500, latencyMs: 12, error: 'The receiver answered 500.' };
const after = (at: Date, ms: number) => new Date(at.getTime() + ms);

/** As the delivery worker records a failure: in a unit of work of its own. */
const recordFailure = (
  db: Knex,
  repository: WebhookDeliveriesRepository,
  ...args: [id: string, result: AttemptRecord, next: Date | null, now: Date]
) => withUnitOfWork(db, (unit) => unit.transaction((trx) => repository.recordFailure(...args, trx)));

describe('the webhook deliveries repository', () => {
  let handle: DatabaseHandle;
  let repository: WebhookDeliveriesRepository;
  const endpoints: string[] = [];

  /** A failed attempt recorded as the worker records it. */
  const fail = (deliveryId: string, next: Date | null, now: Date) =>
    recordFailure(handle.db, repository, deliveryId, attempt, next, now);

  beforeAll(async () => {
    handle = await createTestDatabase();
    repository = new WebhookDeliveriesRepository({ db: handle.db, disableAfterMs: 5 * DAY });
  });
  afterEach(async () => {
    await retireEndpoints(handle.db, endpoints.splice(0));
  });
  afterAll(async () => {
    await handle?.close();
  });

  async function endpoint(fields: Parameters<typeof insertEndpoint>[2] = {}) {
    const created = await insertEndpoint(handle.db, 'https://hooks.example.com/in', fields);
    endpoints.push(created.id);
    return created;
  }

  it('when three events of one resource are due, then only the earliest is claimed until it is done', async () => {
    const { db } = handle;
    const at = new Date('2031-01-01T00:00:00Z');
    const { id } = await endpoint();
    const events: EventFixture[] = [];
    for (let i = 0; i < 3; i += 1) events.push(await insertEvent(db, [id], { resourceId: ids.resource, at }));

    const first = await repository.claimDue(at, 10, LEASE);
    const whileLeased = await repository.claimDue(after(at, LEASE + 1), 10, LEASE);
    await repository.recordSuccess(first[0]!.id, { statusCode: 204, latencyMs: 3, error: null }, at);
    const second = await repository.claimDue(at, 10, LEASE);

    expect(first.map((d) => d.eventId)).toEqual([events[0]!.eventId]);
    // The lease ran out, so the first is taken again, and still nothing behind it.
    expect(whileLeased.map((d) => d.eventId)).toEqual([events[0]!.eventId]);
    expect(second.map((d) => d.eventId)).toEqual([events[1]!.eventId]);
    expect(second[0]).toMatchObject({ attempts: 0, url: 'https://hooks.example.com/in', endpointId: id });
    expect(second[0]!.payload).toEqual(events[1]!.payload);
  });

  it('when a lease has not expired, then nobody claims the delivery; once it has, the next claim takes it', async () => {
    const at = new Date('2031-02-01T00:00:00Z');
    const { id } = await endpoint();
    const event = await insertEvent(handle.db, [id], { at });

    const claimed = await repository.claimDue(at, 10, LEASE);
    const during = await repository.claimDue(after(at, LEASE - 1), 10, LEASE);
    const afterwards = await repository.claimDue(after(at, LEASE), 10, LEASE);

    expect(claimed.map((d) => d.id)).toEqual(event.deliveryIds);
    expect(during).toEqual([]);
    expect(afterwards.map((d) => d.id)).toEqual(event.deliveryIds);
    expect((await deliveryRow(handle.db, event.deliveryIds[0]!)).lease_expires_at).toEqual(
      after(at, 2 * LEASE),
    );
  });

  it('when a delivery is not yet due, then it is not claimed', async () => {
    const at = new Date('2031-03-01T00:00:00Z');
    const { id } = await endpoint();
    await insertEvent(handle.db, [id], { at });

    expect(await repository.claimDue(after(at, -1), 10, LEASE)).toEqual([]);
    expect(await repository.claimDue(at, 10, LEASE)).toHaveLength(1);
  });

  it('when the previous secret is still in its grace period, then the claim carries it, and not after', async () => {
    const at = new Date('2031-04-01T00:00:00Z');
    const previous = newSecret();
    const { id } = await endpoint({ previousSecret: previous, previousSecretExpiresAt: after(at, 1000) });
    const event = await insertEvent(handle.db, [id], { at });

    const [during] = await repository.claimDue(at, 10, LEASE);
    await repository.release([event.deliveryIds[0]!]);
    const [afterwards] = await repository.claimDue(after(at, 1000), 10, LEASE);

    expect(Buffer.from(during!.previousSecretSealed!).toString()).toBe(previous);
    expect(afterwards!.previousSecretSealed).toBeNull();
  });

  it('when a receiver answers a status outside HTTP and a long error, then the log keeps what the spec can serve', async () => {
    const at = new Date('2031-04-01T00:00:00Z');
    const { id } = await endpoint();
    const event = await insertEvent(handle.db, [id], { at });
    const deliveryId = event.deliveryIds[0]!;

    await repository.claimDue(at, 10, LEASE);
    await recordFailure(
      handle.db,
      repository,
      deliveryId,
      { statusCode: 999, latencyMs: 3, error: 'x'.repeat(2000) },
      after(at, 60_000),
      at,
    );

    const row = await handle.db('webhook_deliveries').where({ id: deliveryId }).first();
    expect(row).toMatchObject({ last_status_code: null, last_error: 'x'.repeat(500) });
  });

  it('when an attempt fails with a next time, then the delivery waits for it; with none, it is given up', async () => {
    const at = new Date('2031-05-01T00:00:00Z');
    const { id } = await endpoint();
    const event = await insertEvent(handle.db, [id], { at });
    const deliveryId = event.deliveryIds[0]!;

    await repository.claimDue(at, 10, LEASE);
    await fail(deliveryId, after(at, 60_000), at);
    const retrying = await deliveryRow(handle.db, deliveryId);
    const early = await repository.claimDue(after(at, 59_999), 10, LEASE);
    await repository.claimDue(after(at, 60_000), 10, LEASE);
    await fail(deliveryId, null, after(at, 60_000));
    const given = await deliveryRow(handle.db, deliveryId);

    expect(retrying).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_status_code: 500,
      lease_expires_at: null,
    });
    expect(retrying.next_attempt_at).toEqual(after(at, 60_000));
    expect(early).toEqual([]);
    expect(given).toMatchObject({ status: 'failed', attempts: 2, last_error: attempt.error });
    expect(given.completed_at).toEqual(after(at, 60_000));
    expect(await repository.claimDue(after(at, DAY), 10, LEASE)).toEqual([]);
  });

  it('when an endpoint has failed for longer than disableAfter, then the next failure disables it as failing', async () => {
    const at = new Date('2031-06-01T00:00:00Z');
    const longFailing = await endpoint({ failingSince: after(at, -5 * DAY - 1) });
    const recentlyFailing = await endpoint({ failingSince: after(at, -4 * DAY) });
    const [a, b] = [
      await insertEvent(handle.db, [longFailing.id], { at }),
      await insertEvent(handle.db, [recentlyFailing.id], { at }),
    ];
    await repository.claimDue(at, 10, LEASE);

    const disabled = await fail(a.deliveryIds[0]!, after(at, 60_000), at);
    const kept = await fail(b.deliveryIds[0]!, after(at, 60_000), at);
    const rows = await handle.db('webhook_endpoints').whereIn('id', [longFailing.id, recentlyFailing.id]);
    const byId = new Map(rows.map((row: { id: string; disabled_at: Date | null }) => [row.id, row]));

    expect(disabled).toMatchObject({ endpointDisabled: true });
    expect(kept).toMatchObject({ endpointDisabled: false });
    expect(byId.get(longFailing.id)).toMatchObject({
      status: 'disabled',
      disabled_reason: 'failing',
      version: 2,
    });
    expect(byId.get(longFailing.id)!.disabled_at).toEqual(at);
    expect(byId.get(recentlyFailing.id)).toMatchObject({
      status: 'enabled',
      disabled_reason: null,
      version: 1,
    });
    // A disabled endpoint's deliveries stay pending but are not claimed.
    expect((await repository.claimDue(after(at, DAY), 10, LEASE)).map((d) => d.endpointId)).toEqual([
      recentlyFailing.id,
    ]);
  });

  it('when two instances record failures that both pass the threshold at once, then the endpoint is disabled once', async () => {
    const at = new Date('2031-06-15T00:00:00Z');
    const target = await endpoint({ failingSince: after(at, -6 * DAY) });
    const events = [
      await insertEvent(handle.db, [target.id], { at }),
      await insertEvent(handle.db, [target.id], { at }),
    ];
    await repository.claimDue(at, 10, LEASE);
    const other = await secondPool(handle.db);
    try {
      const instances = [repository, new WebhookDeliveriesRepository({ db: other.db })];

      const outcomes = await Promise.all(
        instances.map((instance, i) =>
          recordFailure(
            i === 0 ? handle.db : other.db,
            instance,
            events[i]!.deliveryIds[0]!,
            attempt,
            after(at, 60_000),
            at,
          ),
        ),
      );

      expect(outcomes.filter((o) => o.endpointDisabled)).toHaveLength(1);
      expect(await handle.db('webhook_endpoints').where({ id: target.id }).first()).toMatchObject({
        status: 'disabled',
        version: 2,
      });
    } finally {
      await other.close();
    }
  });

  it('when an endpoint first fails, then it is failing from then; a success clears it', async () => {
    const at = new Date('2031-07-01T00:00:00Z');
    const { id } = await endpoint();
    const event = await insertEvent(handle.db, [id], { at });
    const failingSince = async () =>
      ((await handle.db('webhook_endpoints').where({ id }).first()) as { failing_since: Date | null })
        .failing_since;

    await repository.claimDue(at, 10, LEASE);
    await fail(event.deliveryIds[0]!, after(at, 1000), at);
    const afterFailure = await failingSince();
    await repository.claimDue(after(at, 1000), 10, LEASE);
    await fail(event.deliveryIds[0]!, after(at, 5000), after(at, 1000));
    const afterSecondFailure = await failingSince();
    await repository.claimDue(after(at, 5000), 10, LEASE);
    await repository.recordSuccess(
      event.deliveryIds[0]!,
      { statusCode: 200, latencyMs: 1, error: null },
      after(at, 5000),
    );

    expect(afterFailure).toEqual(at);
    expect(afterSecondFailure).toEqual(at);
    expect(await failingSince()).toBeNull();
    expect(await deliveryRow(handle.db, event.deliveryIds[0]!)).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      last_error: null,
    });
  });

  it('when a give-up leaves nothing pending, then the failing streak ends, and a failure weeks later does not disable', async () => {
    const at = new Date('2031-07-15T00:00:00Z');
    const failingSince = async (id: string) =>
      ((await handle.db('webhook_endpoints').where({ id }).first()) as { failing_since: Date | null })
        .failing_since;
    // Still failing: another delivery is pending (retrying), so the streak goes on past a give-up.
    const busy = await endpoint({ failingSince: after(at, -3 * DAY) });
    const [givenUp, retrying] = [
      await insertEvent(handle.db, [busy.id], { at }),
      await insertEvent(handle.db, [busy.id], { at }),
    ];
    await repository.claimDue(at, 10, LEASE);
    await fail(givenUp.deliveryIds[0]!, null, at);
    const busyAfterGiveUp = await failingSince(busy.id);
    const tipped = await fail(retrying.deliveryIds[0]!, after(at, 3 * DAY), after(at, 2 * DAY));
    // Idle: its only delivery is given up, so nothing is tried until the next event.
    const idle = await endpoint();
    const only = await insertEvent(handle.db, [idle.id], { at: after(at, 30 * DAY) });
    await repository.claimDue(after(at, 30 * DAY), 10, LEASE);
    await fail(only.deliveryIds[0]!, null, after(at, 30 * DAY));
    const idleAfterGiveUp = await failingSince(idle.id);
    const next = await insertEvent(handle.db, [idle.id], { at: after(at, 60 * DAY) });
    await repository.claimDue(after(at, 60 * DAY), 10, LEASE);
    const late = await fail(next.deliveryIds[0]!, after(at, 61 * DAY), after(at, 60 * DAY));

    expect(busyAfterGiveUp).toEqual(after(at, -3 * DAY));
    expect(tipped).toMatchObject({ endpointDisabled: true });
    expect(idleAfterGiveUp).toBeNull();
    expect(late).toMatchObject({ endpointDisabled: false });
    expect(await failingSince(idle.id)).toEqual(after(at, 60 * DAY));
  });

  it('when a delivery is released, then it can be claimed at once, and it counts as pending', async () => {
    const at = new Date('2031-08-01T00:00:00Z');
    const { id } = await endpoint();
    const event = await insertEvent(handle.db, [id], { at });
    const pendingBefore = await repository.countPending();

    await repository.claimDue(at, 10, LEASE);
    await repository.release(event.deliveryIds);

    expect((await repository.claimDue(at, 10, LEASE)).map((d) => d.id)).toEqual(event.deliveryIds);
    expect(pendingBefore).toBeGreaterThanOrEqual(1);
    expect(await repository.countPending()).toBe(pendingBefore);
  });

  it('when a payload cannot be sent, then the delivery is failed without an attempt or a failing endpoint', async () => {
    const at = new Date('2031-09-01T00:00:00Z');
    const { id } = await endpoint();
    const event = await insertEvent(handle.db, [id], { at });

    await repository.claimDue(at, 10, LEASE);
    await repository.recordUnsendable(event.deliveryIds[0]!, 'payload does not match the spec', at);

    expect(await deliveryRow(handle.db, event.deliveryIds[0]!)).toMatchObject({
      status: 'failed',
      attempts: 0,
      last_error: 'payload does not match the spec',
      lease_expires_at: null,
    });
    expect(await handle.db('webhook_endpoints').where({ id }).first()).toMatchObject({
      failing_since: null,
      status: 'enabled',
    });
  });

  it('when two endpoints have due deliveries, then a claim takes them in turns, at most the bound of each', async () => {
    const at = new Date('2031-11-01T00:00:00Z');
    const bounded = new WebhookDeliveriesRepository({ db: handle.db, endpointConcurrency: 3 });
    const [older, newer] = [await endpoint(), await endpoint()];
    const olderIds: string[] = [];
    const newerIds: string[] = [];
    // The older endpoint's backlog is due first: by next_attempt_at alone it would fill the claim.
    for (let i = 0; i < 5; i += 1) {
      olderIds.push(...(await insertEvent(handle.db, [older.id], { at: after(at, i) })).deliveryIds);
      newerIds.push(...(await insertEvent(handle.db, [newer.id], { at: after(at, 1000 + i) })).deliveryIds);
    }
    const claimedIds = async (limit: number, now = after(at, 2000)) =>
      (await bounded.claimDue(now, limit, LEASE)).map((d) => d.id).sort();

    const first = await claimedIds(4);
    const second = await claimedIds(10);
    const atBound = await claimedIds(10);

    // Each endpoint's earliest, then each one's next: not the older endpoint's first four.
    expect(first).toEqual([olderIds[0], olderIds[1], newerIds[0], newerIds[1]].sort());
    // Two leased of each count toward the bound of three: one more each, then none.
    expect(second).toEqual([olderIds[2], newerIds[2]].sort());
    expect(atBound).toEqual([]);
  });

  it('when leases run out, then they no longer count toward the bound, and leases of another instance do', async () => {
    const at = new Date('2031-11-15T00:00:00Z');
    const other = await secondPool(handle.db);
    try {
      const [mine, theirs] = [handle.db, other.db].map(
        (db) => new WebhookDeliveriesRepository({ db, endpointConcurrency: 2 }),
      );
      const { id } = await endpoint();
      const deliveryIds: string[] = [];
      for (let i = 0; i < 4; i += 1)
        deliveryIds.push(...(await insertEvent(handle.db, [id], { at: after(at, i) })).deliveryIds);

      const byOther = await theirs!.claimDue(at, 1, LEASE);
      const whileLeased = await mine!.claimDue(after(at, 10), 10, LEASE);
      const atBound = await mine!.claimDue(after(at, 10), 10, LEASE);
      // Past the first lease, not the second: one place under the bound again.
      const oneExpired = await mine!.claimDue(after(at, LEASE), 10, LEASE);
      const allExpired = await mine!.claimDue(after(at, 3 * LEASE), 10, LEASE);

      expect(byOther.map((d) => d.id)).toEqual([deliveryIds[0]]);
      expect(whileLeased.map((d) => d.id)).toEqual([deliveryIds[1]]);
      expect(atBound).toEqual([]);
      expect(oneExpired.map((d) => d.id)).toEqual([deliveryIds[0]]);
      expect(allExpired.map((d) => d.id).sort()).toEqual([deliveryIds[0], deliveryIds[1]].sort());
    } finally {
      await other.close();
    }
  });

  it("when an endpoint's earliest deliveries wait behind their resource's, then its bound goes to ones that can be sent", async () => {
    const at = new Date('2031-11-20T00:00:00Z');
    const bounded = new WebhookDeliveriesRepository({ db: handle.db, endpointConcurrency: 2 });
    const { id } = await endpoint();
    const resourceId = randomUUID();
    const [head, behind] = [
      await insertEvent(handle.db, [id], { resourceId, at }),
      await insertEvent(handle.db, [id], { resourceId, at }),
    ];
    const other = await insertEvent(handle.db, [id], { at: after(at, 1000) });

    const claimed = await bounded.claimDue(after(at, 1000), 10, LEASE);

    expect(claimed.map((d) => d.id).sort()).toEqual([head.deliveryIds[0], other.deliveryIds[0]].sort());
    expect(claimed.map((d) => d.id)).not.toContain(behind.deliveryIds[0]);
  });

  it('when two instances claim at the same moment, then no delivery is claimed by both (SKIP LOCKED)', async () => {
    const at = new Date('2031-10-01T00:00:00Z');
    const { id } = await endpoint();
    const events: EventFixture[] = [];
    for (let i = 0; i < 200; i += 1) events.push(await insertEvent(handle.db, [id], { at }));
    const other = await secondPool(handle.db);
    try {
      // One endpoint with no bound in the way: the rows themselves are what the instances compete for.
      const instances = [handle.db, other.db].map(
        (db) => new WebhookDeliveriesRepository({ db, endpointConcurrency: events.length }),
      );
      const claimedBy = instances.map(() => [] as string[]);
      await Promise.all(
        instances.map(async (instance, index) => {
          for (;;) {
            const batch = await instance.claimDue(at, 7, LEASE);
            if (batch.length === 0) return;
            claimedBy[index]!.push(...batch.map((d) => d.id));
          }
        }),
      );
      const all = claimedBy.flat();

      expect(new Set(all).size).toBe(all.length);
      expect(all.sort()).toEqual(events.flatMap((e) => e.deliveryIds).sort());
    } finally {
      await other.close();
    }
  });
});

const ids = { resource: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f' };
