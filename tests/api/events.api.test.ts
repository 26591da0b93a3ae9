import pino from 'pino';
import request from 'supertest';
import { loadOpenApiDocument } from '../../src/internal/openapi-document';
import { EventsRepository } from '../../src/repositories/events.repository';
import { IdempotencyRepository } from '../../src/repositories/idempotency.repository';
import { createRecordRetention } from '../../src/services/record-retention';
import { createWebhookPayloadValidator } from '../../src/webhooks/payload-validator';
import { createPartnerClient, createUser, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const DAY_MS = 24 * 60 * 60 * 1000;

interface Envelope {
  id: string;
  type: string;
  occurred_at: string;
  data: Record<string, unknown>;
}

describe('the events API (GET /v1/events)', () => {
  let t: TestApp;
  let owner: TestUser;
  let stranger: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    owner = await createUser(t);
    stranger = await createUser(t);
  });
  afterAll(() => t.close());

  const events = async (token: string, query: Record<string, string | string[]> = {}) =>
    (await request(t.app).get('/v1/events').query(query).set(bearer(token)).expect(200)).body as {
      data: Envelope[];
      next_cursor: string | null;
    };

  it('when an item is created, then its owner lists the event exactly as the webhook carries it, and no one else does', async () => {
    const item = await request(t.app)
      .post('/v1/items')
      .set(bearer(owner.accessToken))
      .send({ name: 'listed' })
      .expect(201);

    const page = await events(owner.accessToken, { type: 'item.created' });
    const event = page.data.find((candidate) => candidate.data.id === item.body.id)!;
    expect(event).toMatchObject({ type: 'item.created', data: item.body });
    const [stored] = await t.database.db('webhook_events').where({ id: event.id }).pluck('payload');
    expect(event).toEqual(stored);
    const validate = createWebhookPayloadValidator(loadOpenApiDocument());
    expect(validate(event.type, event)).toEqual({ valid: true });

    const single = await request(t.app)
      .get(`/v1/events/${event.id}`)
      .set(bearer(owner.accessToken))
      .expect(200);
    expect(single.body).toEqual(event);
    await request(t.app)
      .get(`/v1/events/${event.id}`)
      .set(bearer(owner.accessToken))
      .set('If-None-Match', single.headers.etag as string)
      .expect(304);

    expect((await events(stranger.accessToken)).data.map((e) => e.id)).not.toContain(event.id);
    await request(t.app).get(`/v1/events/${event.id}`).set(bearer(stranger.accessToken)).expect(404);
  });

  it('when events are filtered by type and time, then only those match, newest first, page by page', async () => {
    const user = await createUser(t);
    const before = new Date().toISOString();
    for (const name of ['a', 'b', 'c'])
      await request(t.app).post('/v1/items').set(bearer(user.accessToken)).send({ name }).expect(201);
    const first = await events(user.accessToken, {
      type: 'item.created',
      occurred_after: before,
      limit: '2',
    });
    expect(first.data.map((e) => e.data.name)).toEqual(['c', 'b']);
    const second = await events(user.accessToken, {
      type: 'item.created',
      occurred_after: before,
      limit: '2',
      cursor: first.next_cursor!,
    });
    expect(second.data.map((e) => e.data.name)).toEqual(['a']);
    expect((await events(user.accessToken, { type: 'item.deleted' })).data).toEqual([]);
    await request(t.app)
      .get('/v1/events')
      .query({ cursor: first.next_cursor! })
      .set(bearer(user.accessToken))
      .expect(400);
  });

  it('when a user registers, then administrators see user.created and a partner client does not', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const newcomer = await createUser(t);
    const seen = await events(admin.accessToken, { type: 'user.created' });
    expect(seen.data.map((e) => e.data.id)).toContain(newcomer.id);
    const partner = await createPartnerClient(t, admin, ['items:read', 'events:read']);
    expect((await events(partner.accessToken)).data).toEqual([]);
  });

  it('when an event is older than the retention, then it is neither listed nor readable, and the sweep deletes it', async () => {
    const user = await createUser(t);
    const item = await request(t.app).post('/v1/items').set(bearer(user.accessToken)).send({ name: 'old' });
    const [event] = await t.database
      .db('webhook_events')
      .where({ resource_id: item.body.id })
      .update({ occurred_at: new Date(Date.now() - 31 * DAY_MS).toISOString() })
      .returning<Array<{ id: string }>>('id');
    expect((await events(user.accessToken)).data.map((e) => e.id)).not.toContain(event!.id);
    await request(t.app).get(`/v1/events/${event!.id}`).set(bearer(user.accessToken)).expect(404);

    await createRecordRetention({
      idempotency: new IdempotencyRepository({ db: t.database.db, abandonedAfterSeconds: 120 }),
      events: { repository: new EventsRepository({ db: t.database.db }), retentionDays: 30 },
      logger: pino({ level: 'silent' }),
    }).sweep();
    expect(await t.database.db('webhook_events').where({ id: event!.id }).first()).toBeUndefined();
  });

  it('when a token lacks events:read, then the events are refused', async () => {
    const narrow = await createUser(t, { scope: 'items:read' });
    await request(t.app).get('/v1/events').set(bearer(narrow.accessToken)).expect(403);
  });
});
