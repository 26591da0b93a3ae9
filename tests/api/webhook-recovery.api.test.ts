import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createUser, type TestUser } from '../support/identity';
import { countAuditEvents, createTestApp, type TestApp } from '../support/test-app';
import { startReceiver } from '../support/webhook-fixtures';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const HOUR_MS = 60 * 60 * 1000;

describe('webhook recovery (POST /v1/webhook-endpoints/{endpoint_id}/recover)', () => {
  let t: TestApp;
  let owner: TestUser;
  beforeAll(async () => {
    // No worker: the test decides what became of each delivery.
    t = await createTestApp({ env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' } });
    owner = await createUser(t);
  });
  afterAll(() => t.close());

  const createItem = async (name: string) =>
    (await request(t.app).post('/v1/items').set(bearer(owner.accessToken)).send({ name }).expect(201))
      .body as { id: string };

  /** Sets the delivery of the item's event to `status`, `hoursAgo` in the past. */
  const settle = async (endpointId: string, itemId: string, status: string, hoursAgo: number) => {
    const at = new Date(Date.now() - hoursAgo * HOUR_MS).toISOString();
    const [event] = await t.database
      .db('webhook_events')
      .where({ resource_id: itemId })
      .update({ occurred_at: at })
      .returning<Array<{ id: string }>>('id');
    await t.database
      .db('webhook_deliveries')
      .where({ endpoint_id: endpointId, event_id: event!.id })
      .update({ status, created_at: at, ...(status === 'pending' ? {} : { completed_at: at }) });
    return event!.id;
  };

  const recover = (endpointId: string, since: string, token = owner.accessToken, key = randomUUID()) =>
    request(t.app)
      .post(`/v1/webhook-endpoints/${endpointId}/recover`)
      .set(bearer(token))
      .set('Idempotency-Key', key)
      .send({ since });

  it('when some deliveries failed, then recovery queues exactly those since the instant, once, audited and in the log', async () => {
    const endpoint = await request(t.app)
      .post('/v1/webhook-endpoints')
      .set(bearer(owner.accessToken))
      .send({ url: 'http://127.0.0.1:9/hooks', event_types: ['item.created'] })
      .expect(201);
    const endpointId = endpoint.body.id as string;
    const failedLongAgo = await settle(endpointId, (await createItem('too old')).id, 'failed', 10);
    const failed = await settle(endpointId, (await createItem('failed')).id, 'failed', 3);
    await settle(endpointId, (await createItem('received')).id, 'succeeded', 3);
    await settle(endpointId, (await createItem('still pending')).id, 'pending', 2);
    const since = new Date(Date.now() - 5 * HOUR_MS).toISOString();

    const key = randomUUID();
    const first = await recover(endpointId, since, owner.accessToken, key).expect(202);
    expect(first.body).toEqual({ endpoint_id: endpointId, since, queued: 1, more: false });
    const replay = await recover(endpointId, since, owner.accessToken, key).expect(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const again = await recover(endpointId, since).expect(202);
    expect(again.body).toMatchObject({ queued: 0, more: false });

    const queued = await t.database
      .db('webhook_deliveries')
      .where({ endpoint_id: endpointId, status: 'pending' })
      .pluck('event_id');
    expect(queued.filter((id) => id === failed)).toHaveLength(1);
    expect(queued).not.toContain(failedLongAgo);
    const log = await request(t.app)
      .get(`/v1/webhook-endpoints/${endpointId}/deliveries`)
      .set(bearer(owner.accessToken))
      .expect(200);
    expect(log.body.data[0]).toMatchObject({ event_id: failed, status: 'pending', attempts: 0 });
    expect(await countAuditEvents(t, endpointId, 'webhook_endpoint.recovered')).toBe(2);
  });

  it("when someone else's endpoint is named, or since is past the retention, then nothing is queued", async () => {
    const endpoint = await request(t.app)
      .post('/v1/webhook-endpoints')
      .set(bearer(owner.accessToken))
      .send({ url: 'http://127.0.0.1:9/hooks', event_types: ['item.created'] })
      .expect(201);
    const stranger = await createUser(t);
    await recover(endpoint.body.id, new Date().toISOString(), stranger.accessToken).expect(404);
    const tooOld = await recover(
      endpoint.body.id,
      new Date(Date.now() - 31 * 24 * HOUR_MS).toISOString(),
    ).expect(400);
    expect(tooOld.body.errors).toEqual([expect.objectContaining({ location: 'body', pointer: '/since' })]);
  });
});

describe('an endpoint disabled for failing', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true', WEBHOOK_DISABLE_AFTER_SECONDS: '60' },
      webhookDelivery: true,
    });
  });
  afterAll(() => t.close());

  it("when it is disabled, then the owner's other endpoint receives webhook_endpoint.disabled, the events API lists it and an audit row records it", async () => {
    const owner = await createUser(t);
    const failing = await startReceiver((res) => res.writeHead(500).end());
    const healthy = await startReceiver();
    try {
      const create = (url: string, eventTypes: string[]) =>
        request(t.app)
          .post('/v1/webhook-endpoints')
          .set(bearer(owner.accessToken))
          .send({ url, event_types: eventTypes })
          .expect(201);
      const broken = (await create(failing.url, ['item.created'])).body as { id: string };
      // The other endpoint subscribes to something else: the notice reaches it whatever it subscribes to.
      await create(healthy.url, ['item.deleted']);
      await t.database
        .db('webhook_endpoints')
        .where({ id: broken.id })
        .update({ failing_since: new Date(Date.now() - 2 * HOUR_MS).toISOString() });

      await request(t.app).post('/v1/items').set(bearer(owner.accessToken)).send({ name: 'x' }).expect(201);
      await healthy.untilReceived(1);

      const notice = JSON.parse(healthy.received[0]!.body) as {
        id: string;
        type: string;
        data: Record<string, unknown>;
      };
      expect(notice).toMatchObject({
        type: 'webhook_endpoint.disabled',
        data: { id: broken.id, status: 'disabled', disabled_reason: 'failing' },
      });
      expect(failing.received).toHaveLength(1);
      const listed = await request(t.app)
        .get('/v1/events')
        .query({ type: 'webhook_endpoint.disabled' })
        .set(bearer(owner.accessToken))
        .expect(200);
      expect(listed.body.data).toEqual([notice]);
      const audit = await t.database
        .db('audit_events')
        .where({ resource_id: broken.id, action: 'webhook_endpoint.disabled' })
        .first();
      expect(audit).toMatchObject({ actor_type: 'system', actor_id: null });
    } finally {
      await failing.close();
      await healthy.close();
    }
  });
});
