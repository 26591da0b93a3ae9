import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { loadOpenApiDocument } from '../../src/internal/openapi-document';
import { createWebhookPayloadValidator } from '../../src/webhooks/payload-validator';
import { createUser, type TestUser } from '../support/identity';
import { createChangeAndDeleteItem } from '../support/item-lifecycle';
import { createTestApp, type TestApp } from '../support/test-app';
import { startReceiver } from '../support/webhook-fixtures';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** The whole path on this database: the API's write, its outbox row, the worker, a real receiver. */
describe('webhook deliveries from the API', () => {
  let t: TestApp;
  let owner: TestUser;
  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' }, webhookDelivery: true });
    owner = await createUser(t);
  });
  afterAll(() => t.close());

  it('when an item is created, changed and deleted, then three signed, schema-valid deliveries arrive in order of occurrence', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await request(t.app)
        .post('/v1/webhook-endpoints')
        .set(bearer(owner.accessToken))
        .send({ url: receiver.url, event_types: ['item.created', 'item.updated', 'item.deleted'] })
        .expect(201);
      const { created, updated } = await createChangeAndDeleteItem(t.app, owner.accessToken, 'watched');

      await receiver.untilReceived(3);
      const verifier = new Webhook((endpoint.body as { secret: string }).secret);
      const validate = createWebhookPayloadValidator(loadOpenApiDocument());
      const events = receiver.received.map((hit) => {
        expect(hit.headers['content-type']).toBe('application/json');
        const event = verifier.verify(hit.body, hit.headers as Record<string, string>) as {
          id: string;
          type: string;
          data: unknown;
        };
        expect(hit.headers['webhook-id']).toBe(`msg_${event.id}`);
        expect(validate(event.type, event)).toEqual({ valid: true });
        return event;
      });
      expect(events.map((event) => [event.type, event.data])).toEqual([
        ['item.created', created],
        ['item.updated', updated],
        ['item.deleted', { id: created.id }],
      ]);
      const log = await request(t.app)
        .get(`/v1/webhook-endpoints/${endpoint.body.id as string}/deliveries`)
        .set(bearer(owner.accessToken))
        .expect(200);
      // Newest first. Each delivery of a resource waits for the one before it to be recorded, so by the time
      // the third arrived the first two were recorded as succeeded; the third may still be recording.
      const [deleted, ...earlier] = (log.body as { data: Array<Record<string, unknown>> }).data;
      expect(deleted).toMatchObject({ event_type: 'item.deleted' });
      expect(earlier).toEqual([
        expect.objectContaining({
          event_type: 'item.updated',
          status: 'succeeded',
          attempts: 1,
          last_status_code: 204,
        }),
        expect.objectContaining({
          event_type: 'item.created',
          status: 'succeeded',
          attempts: 1,
          last_status_code: 204,
        }),
      ]);
    } finally {
      await receiver.close();
    }
  });
});

describe('waking the delivery worker', () => {
  let t: TestApp;
  let wakeUps = 0;
  beforeAll(async () => {
    t = await createTestApp({
      env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' },
      onDeliveriesCommitted: () => (wakeUps += 1),
    });
  });
  afterAll(() => t.close());

  const createItem = (user: TestUser) =>
    request(t.app).post('/v1/items').set(bearer(user.accessToken)).send({ name: 'nudge' }).expect(201);

  it('when a write enqueues no delivery, then the worker is left alone; when it enqueues one, it is woken once', async () => {
    const unsubscribed = await createUser(t);
    const subscribed = await createUser(t);
    await request(t.app)
      .post('/v1/webhook-endpoints')
      .set(bearer(subscribed.accessToken))
      .send({ url: 'http://127.0.0.1:9/in', event_types: ['item.created'] })
      .expect(201);
    wakeUps = 0;

    await createItem(unsubscribed);
    expect(wakeUps).toBe(0);
    await createItem(subscribed);
    expect(wakeUps).toBe(1);
  });
});
