import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { expectProblem } from '../support/contract';
import { createPartnerClient, createUser, type TestUser } from '../support/identity';
import { createChangeAndDeleteItem } from '../support/item-lifecycle';
import { createTestApp, type TestApp } from '../support/test-app';
import { expectCursorRefused, FORGED_CURSORS } from './forged-cursors';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const RECEIVER = 'http://127.0.0.1:9/hooks';

interface QueuedDelivery {
  type: string;
  status: string;
  payload: { id: string; type: string; occurred_at: string; data: Record<string, unknown> };
}

describe('webhook endpoints', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' } });
    [alice, bob, admin] = await Promise.all([createUser(t), createUser(t), createUser(t, { role: 'admin' })]);
  });
  afterAll(() => t.close());

  const register = (token: string, body: Record<string, unknown> = {}) =>
    request(t.app)
      .post('/v1/webhook-endpoints')
      .set(bearer(token))
      .send({ url: RECEIVER, event_types: ['item.created', 'item.updated', 'item.deleted'], ...body });
  const pendingDeliveries = async (endpointId: string): Promise<QueuedDelivery[]> =>
    await t.database
      .db<QueuedDelivery>('webhook_deliveries as d')
      .join('webhook_events as e', 'e.id', 'd.event_id')
      .where('d.endpoint_id', endpointId)
      .orderBy('e.sequence')
      .select('e.type', 'e.payload', 'd.status');
  const idsOf = (body: unknown) => (body as { data: Array<{ id: string }> }).data.map((entry) => entry.id);

  it('when an endpoint is registered, then its secret is shown once, stored sealed, and reads never show it', async () => {
    const res = await register(alice.accessToken, { description: 'stock sync' }).expect(201);
    expect(res.headers.location).toBe(`/v1/webhook-endpoints/${res.body.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ status: 'enabled', description: 'stock sync', version: 1 });
    expect(res.body.secret).toMatch(/^whsec_/);
    const row = await t.database.db('webhook_endpoints').where({ id: res.body.id }).first();
    expect(row.owner_user_id).toBe(alice.id);
    expect(JSON.stringify(row)).not.toContain((res.body as { secret: string }).secret.slice(6));
    const read = await request(t.app)
      .get(`/v1/webhook-endpoints/${res.body.id}`)
      .set(bearer(alice.accessToken))
      .expect(200);
    expect(read.body.secret).toBeUndefined();
  });

  it.each([
    ['plain http to a public host', 'http://hooks.example.com/in'],
    ['a private address', 'https://10.0.0.7/in'],
    ['the cloud metadata address', 'https://169.254.169.254/latest'],
    ['credentials in the URL', 'https://user:pw@hooks.example.com/in'],
  ])('when the URL is %s, then 400 and nothing is stored', async (_case, url) => {
    const res = await register(alice.accessToken, { url });
    expectProblem(res, 400, 'validation-error');
    expect(res.body.errors[0]).toMatchObject({ location: 'body', pointer: '/url' });
    expect(await t.database.db('webhook_endpoints').where({ url })).toEqual([]);
  });

  it('when another principal asks for an endpoint, then it does not exist for them, whatever they try', async () => {
    const mine = (await register(alice.accessToken).expect(201)).body as { id: string };
    const path = `/v1/webhook-endpoints/${mine.id}`;
    const partner = await createPartnerClient(t, admin, ['items:read', 'webhooks:read', 'webhooks:write']);
    for (const token of [bob.accessToken, admin.accessToken, partner.accessToken]) {
      expectProblem(await request(t.app).get(path).set(bearer(token)), 404, 'not-found');
      expectProblem(
        await request(t.app)
          .patch(path)
          .set(bearer(token))
          .set('If-Match', '"1"')
          .send({ status: 'disabled' }),
        404,
        'not-found',
      );
      expectProblem(
        await request(t.app).delete(path).set(bearer(token)).set('If-Match', '"1"'),
        404,
        'not-found',
      );
      expectProblem(
        await request(t.app).post(`${path}/secret`).set(bearer(token)).set('If-Match', '"1"'),
        404,
        'not-found',
      );
      expectProblem(await request(t.app).get(`${path}/deliveries`).set(bearer(token)), 404, 'not-found');
      expectProblem(await request(t.app).post(`${path}/test-events`).set(bearer(token)), 404, 'not-found');
      const list = await request(t.app).get('/v1/webhook-endpoints').set(bearer(token)).expect(200);
      expect(idsOf(list.body)).not.toContain(mine.id);
    }
    expect(await t.database.db('webhook_endpoints').where({ id: mine.id }).first()).toMatchObject({
      status: 'enabled',
      version: 1,
    });
  });

  it("when a partner client registers an endpoint, then its own items' events reach it and nobody else's", async () => {
    const partner = await createPartnerClient(t, admin, [
      'items:read',
      'items:write',
      'webhooks:read',
      'webhooks:write',
    ]);
    const endpoint = (await register(partner.accessToken).expect(201)).body as { id: string };
    await request(t.app)
      .post('/v1/items')
      .set(bearer(alice.accessToken))
      .send({ name: 'alice-only' })
      .expect(201);
    const own = await request(t.app)
      .post('/v1/items')
      .set(bearer(partner.accessToken))
      .send({ name: 'partner-item' })
      .expect(201);
    const deliveries = await pendingDeliveries(endpoint.id);
    expect(deliveries.map((row) => [row.type, row.payload.data.id])).toEqual([['item.created', own.body.id]]);
  });

  it("when an item is created, changed and deleted, then its owner's endpoint gets three events in order with the spec's envelope", async () => {
    const endpoint = (await register(bob.accessToken).expect(201)).body as { id: string };
    const { created, updated } = await createChangeAndDeleteItem(t.app, bob.accessToken, 'tracked');
    const deliveries = await pendingDeliveries(endpoint.id);
    expect(deliveries.map((row) => row.type)).toEqual(['item.created', 'item.updated', 'item.deleted']);
    expect(deliveries[0]!.payload).toEqual({
      id: expect.any(String),
      type: 'item.created',
      occurred_at: expect.any(String),
      data: created,
    });
    expect(deliveries[1]!.payload.data).toEqual(updated);
    expect(deliveries[2]!.payload.data).toEqual({ id: created.id });
  });

  it('when a change fails after its event was written, then the change, its audit row and the event all roll back', async () => {
    const endpoint = (await register(bob.accessToken).expect(201)).body as { id: string };
    const item = await request(t.app)
      .post('/v1/items')
      .set(bearer(bob.accessToken))
      .send({ name: 'kept' })
      .expect(201);
    // The injected failure: the delivery row of this one update cannot be written, after the item, its audit
    // row and its event were.
    await t.database.db.raw(
      "CREATE FUNCTION fail_rolled_back_delivery() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF (SELECT payload->'data'->>'name' FROM webhook_events WHERE id = NEW.event_id) = 'rolled-back' THEN RAISE EXCEPTION 'injected delivery failure'; END IF; RETURN NEW; END $$",
    );
    await t.database.db.raw(
      'CREATE TRIGGER fail_rolled_back_delivery BEFORE INSERT ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION fail_rolled_back_delivery()',
    );
    const res = await request(t.app)
      .patch(`/v1/items/${item.body.id}`)
      .set(bearer(bob.accessToken))
      .set('If-Match', item.headers.etag as string)
      .set('Content-Type', 'application/merge-patch+json')
      .send({ name: 'rolled-back' });
    expectProblem(res, 500, 'internal-error');
    expect(await t.database.db('items').where({ id: item.body.id }).first()).toMatchObject({
      name: 'kept',
      version: 1,
    });
    expect(
      await t.database.db('audit_events').where({ resource_id: item.body.id, action: 'item.updated' }),
    ).toEqual([]);
    expect(
      await t.database.db('webhook_events').whereRaw("payload->'data'->>'name' = 'rolled-back'"),
    ).toEqual([]);
    expect((await pendingDeliveries(endpoint.id)).map((row) => row.type)).toEqual(['item.created']);
    await t.database.db.raw('DROP TRIGGER fail_rolled_back_delivery ON webhook_deliveries');
  });

  it("when accounts and clients change, then only administrators' endpoints hear of it, without secrets", async () => {
    const adminEndpoint = (
      await register(admin.accessToken, {
        event_types: ['user.created', 'client.created', 'client.secret_rotated'],
      }).expect(201)
    ).body as { id: string };
    const userEndpoint = (
      await register(alice.accessToken, { event_types: ['user.created', 'client.created'] }).expect(201)
    ).body as { id: string };
    const newcomer = await createUser(t);
    const client = await request(t.app)
      .post('/v1/clients')
      .set(bearer(admin.accessToken))
      .send({ name: 'watched', scopes: ['items:read'] })
      .expect(201);
    const deliveries = await pendingDeliveries(adminEndpoint.id);
    expect(deliveries.map((row) => [row.type, row.payload.data.id ?? row.payload.data.client_id])).toEqual([
      ['user.created', newcomer.id],
      ['client.created', client.body.client_id],
    ]);
    expect(JSON.stringify(deliveries)).not.toContain(client.body.client_secret);
    expect(await pendingDeliveries(userEndpoint.id)).toEqual([]);
  });

  it('when an endpoint is disabled and enabled with If-Match, then its status and reason follow, and a stale ETag is refused', async () => {
    const endpoint = (await register(alice.accessToken).expect(201)).body as { id: string };
    const path = `/v1/webhook-endpoints/${endpoint.id}`;
    const patch = (etag: string | undefined, body: Record<string, unknown>) => {
      const req = request(t.app)
        .patch(path)
        .set(bearer(alice.accessToken))
        .set('Content-Type', 'application/merge-patch+json');
      return etag ? req.set('If-Match', etag).send(body) : req.send(body);
    };
    expectProblem(await patch(undefined, { status: 'disabled' }), 428, 'precondition-required');
    const disabled = await patch('"1"', { status: 'disabled' }).expect(200);
    expect(disabled.body).toMatchObject({ status: 'disabled', disabled_reason: 'by_owner', version: 2 });
    expectProblem(await patch('"1"', { status: 'enabled' }), 412, 'precondition-failed');
    const enabled = await patch('"2"', { status: 'enabled', description: null }).expect(200);
    expect(enabled.body).toMatchObject({
      status: 'enabled',
      disabled_reason: null,
      disabled_at: null,
      version: 3,
    });
    expect(await t.database.db('audit_events').where({ resource_id: endpoint.id }).select('action')).toEqual(
      expect.arrayContaining([
        { action: 'webhook_endpoint.created' },
        { action: 'webhook_endpoint.updated' },
      ]),
    );
  });

  it('when the secret is rotated, then a new one is shown once and the previous one keeps signing for 24 hours', async () => {
    const endpoint = (await register(alice.accessToken).expect(201)).body as { id: string; secret: string };
    const rotated = await request(t.app)
      .post(`/v1/webhook-endpoints/${endpoint.id}/secret`)
      .set(bearer(alice.accessToken))
      .set('If-Match', '"1"')
      .expect(200);
    expect(rotated.headers['cache-control']).toBe('no-store');
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    const grace = Date.parse(rotated.body.previous_secret_expires_at) - Date.now();
    expect(grace).toBeGreaterThan(23 * 3600_000);
    expect(grace).toBeLessThanOrEqual(24 * 3600_000);
    const row = await t.database.db('webhook_endpoints').where({ id: endpoint.id }).first();
    expect(row.previous_secret_sealed).not.toBeNull();
  });

  it('when a test event is sent and a delivery redelivered, then each is queued as a delivery the owner can list', async () => {
    const endpoint = (await register(alice.accessToken, { event_types: ['item.deleted'] }).expect(201))
      .body as { id: string };
    const path = `/v1/webhook-endpoints/${endpoint.id}`;
    const test = await request(t.app).post(`${path}/test-events`).set(bearer(alice.accessToken)).expect(202);
    expect(test.body).toMatchObject({ event_type: 'webhook.test', status: 'pending', attempts: 0 });
    const again = await request(t.app)
      .post(`${path}/deliveries/${test.body.id}/redeliver`)
      .set(bearer(alice.accessToken))
      .expect(202);
    expect(again.body.id).not.toBe(test.body.id);
    expect(again.body.event_id).toBe(test.body.event_id);
    expectProblem(
      await request(t.app)
        .post(`${path}/deliveries/${randomUUID()}/redeliver`)
        .set(bearer(alice.accessToken)),
      404,
      'not-found',
    );
    const page = await request(t.app)
      .get(`${path}/deliveries?limit=1`)
      .set(bearer(alice.accessToken))
      .expect(200);
    expect(idsOf(page.body)).toEqual([again.body.id]);
    const rest = await request(t.app)
      .get(`${path}/deliveries?limit=1&cursor=${page.body.next_cursor as string}`)
      .set(bearer(alice.accessToken))
      .expect(200);
    expect(idsOf(rest.body)).toEqual([test.body.id]);
    expect(rest.body.next_cursor).toBeNull();
  });

  it.each(FORGED_CURSORS)(
    'when the endpoint list is asked with a cursor that %s, then 400',
    async (_label, cursor) => {
      expectCursorRefused(
        await request(t.app).get('/v1/webhook-endpoints').query({ cursor }).set(bearer(alice.accessToken)),
      );
    },
  );

  it('when an endpoint is deleted, then it and its deliveries are gone', async () => {
    const endpoint = (await register(alice.accessToken).expect(201)).body as { id: string };
    await request(t.app)
      .post(`/v1/webhook-endpoints/${endpoint.id}/test-events`)
      .set(bearer(alice.accessToken))
      .expect(202);
    await request(t.app)
      .delete(`/v1/webhook-endpoints/${endpoint.id}`)
      .set(bearer(alice.accessToken))
      .set('If-Match', '"1"')
      .expect(204);
    expect(await t.database.db('webhook_endpoints').where({ id: endpoint.id })).toEqual([]);
    expect(await t.database.db('webhook_deliveries').where({ endpoint_id: endpoint.id })).toEqual([]);
  });
});
