import type { DatabaseHandle } from '../../src/infrastructure/database';
import { EventsRepository } from '../../src/repositories/events.repository';
import { RECOVERY_BATCH, WebhookEventsRepository } from '../../src/repositories/webhook-events.repository';
import { createTestDatabase } from '../support/test-database';
import { insertEndpoint, insertEvent, retireEndpoints } from '../support/webhook-fixtures';

const HOUR_MS = 60 * 60 * 1000;

describe('recovery and retention in the outbox', () => {
  let handle: DatabaseHandle;
  let repository: WebhookEventsRepository;
  const endpoints: string[] = [];

  beforeAll(async () => {
    handle = await createTestDatabase();
    repository = new WebhookEventsRepository({ db: handle.db });
  });
  afterEach(async () => {
    await retireEndpoints(handle.db, endpoints.splice(0));
  });
  afterAll(async () => {
    await handle?.close();
  });

  const endpoint = async () => {
    const { id } = await insertEndpoint(handle.db, 'https://hooks.example.com/in');
    endpoints.push(id);
    return id;
  };
  const recover = (endpointId: string, since: Date) =>
    handle.db.transaction((trx) => repository.recover(endpointId, since.toISOString(), trx));

  it('when more events failed than one recovery takes, then it queues the oldest batch and says more remain, and the next call the rest', async () => {
    const endpointId = await endpoint();
    const at = new Date(Date.now() - HOUR_MS);
    // The backlog in one statement: RECOVERY_BATCH + 1 events, each with one failed delivery.
    await handle.db.raw(
      `WITH ev AS (
         INSERT INTO webhook_events (id, type, occurred_at, resource_type, resource_id, payload)
         SELECT gen_random_uuid(), 'item.updated', ?::timestamptz + make_interval(secs => n), 'item',
                gen_random_uuid(), '{}'::jsonb
           FROM generate_series(1, ?) n
         RETURNING id, sequence, resource_id, occurred_at)
       INSERT INTO webhook_deliveries (endpoint_id, event_id, event_sequence, resource_id, status, created_at, completed_at)
       SELECT ?::uuid, id, sequence, resource_id, 'failed', occurred_at, occurred_at FROM ev`,
      [at.toISOString(), RECOVERY_BATCH + 1, endpointId],
    );
    const since = new Date(at.getTime() - 1000);

    expect(await recover(endpointId, since)).toEqual({ queued: RECOVERY_BATCH, found: RECOVERY_BATCH + 1 });
    expect(await recover(endpointId, since)).toEqual({ queued: 1, found: 1 });
    expect(await recover(endpointId, since)).toEqual({ queued: 0, found: 0 });
    const [row] = await handle
      .db('webhook_deliveries')
      .where({ endpoint_id: endpointId, status: 'pending' })
      .count<[{ count: string | number }]>('* as count');
    expect(Number(row!.count)).toBe(RECOVERY_BATCH + 1);
  });

  it('when an event failed once and succeeded on redelivery, then recovery leaves it alone', async () => {
    const endpointId = await endpoint();
    const event = await insertEvent(handle.db, [endpointId], { at: new Date(Date.now() - HOUR_MS) });
    await handle.db('webhook_deliveries').where({ id: event.deliveryIds[0] }).update({ status: 'failed' });
    await handle.db.transaction((trx) => repository.redeliver(endpointId, event.deliveryIds[0]!, trx));
    await handle
      .db('webhook_deliveries')
      .where({ endpoint_id: endpointId, status: 'pending' })
      .update({ status: 'succeeded' });
    expect(await recover(endpointId, new Date(Date.now() - 2 * HOUR_MS))).toEqual({ queued: 0, found: 0 });
  });

  it('when events pass the retention, then the sweep deletes them with their deliveries and keeps the rest', async () => {
    const endpointId = await endpoint();
    const old = await insertEvent(handle.db, [endpointId], { at: new Date(Date.now() - 31 * 24 * HOUR_MS) });
    const recent = await insertEvent(handle.db, [endpointId], { at: new Date(Date.now() - HOUR_MS) });
    const events = new EventsRepository({ db: handle.db });
    const cutoff = new Date(Date.now() - 30 * 24 * HOUR_MS);
    let deleted = 0;
    for (
      let batch = await events.deleteExpired(cutoff, 1);
      batch > 0;
      batch = await events.deleteExpired(cutoff, 1)
    )
      deleted += batch;
    expect(deleted).toBeGreaterThanOrEqual(1);
    const left = await handle.db('webhook_deliveries').where({ endpoint_id: endpointId }).pluck('event_id');
    expect(left).toEqual([recent.eventId]);
    expect(await handle.db('webhook_events').where({ id: old.eventId }).first()).toBeUndefined();
  });
});
