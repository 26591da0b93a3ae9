import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { parse } from 'yaml';
import { LATEST_API_VERSION, SUPPORTED_API_VERSIONS } from '../../src/versions/catalog';
import { loadApiVersions } from '../../src/versions/api-versions';
import { createVersionedPayloadValidator } from '../../src/webhooks/payload-validator';
import { loadOpenApiDocument } from '../../src/internal/openapi-document';
import { createPartnerClient, createUser, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';
import { startReceiver } from '../support/webhook-fixtures';

const PREVIOUS = '2026-11-30';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
type Json = Record<string, unknown>;

/** The item's owner as each version shows it. */
const ownerAt = (version: string, id: string, type = 'user'): Json =>
  version === PREVIOUS ? { owner_id: id, owner_type: type } : { owner: { type, id } };
const NOT_AT: Record<string, string[]> = {
  [PREVIOUS]: ['owner'],
  [LATEST_API_VERSION]: ['owner_id', 'owner_type'],
};

describe('API versions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' }, webhookDelivery: true });
  });
  afterAll(() => t.close());

  it('when the supported versions are listed, then the latest spec lists them newest first and serves each', async () => {
    expect(SUPPORTED_API_VERSIONS).toEqual([LATEST_API_VERSION, PREVIOUS]);
    const latest = await request(t.app).get('/openapi.json').expect(200);
    expect(latest.headers['api-version']).toBe(LATEST_API_VERSION);
    expect(latest.body.info).toMatchObject({
      'x-api-version': LATEST_API_VERSION,
      'x-api-versions': [LATEST_API_VERSION, PREVIOUS],
    });
    const previous = await request(t.app).get('/openapi.json').query({ version: PREVIOUS }).expect(200);
    expect(previous.body.info['x-api-version']).toBe(PREVIOUS);
    expect(previous.body.components.schemas.Item.required).toEqual(
      expect.arrayContaining(['owner_id', 'owner_type']),
    );
    const yaml = await request(t.app).get('/openapi.yaml').query({ version: PREVIOUS }).expect(200);
    expect((parse(yaml.text) as { info: Json }).info['x-api-version']).toBe(PREVIOUS);
    const unknown = await request(t.app).get('/openapi.json').query({ version: '2020-01-01' }).expect(400);
    expect(unknown.body).toMatchObject({
      type: '/problems/unsupported-api-version',
      supported_versions: [LATEST_API_VERSION, PREVIOUS],
    });
  });

  it.each([['2020-01-01'], ['latest'], ['2026-12-07; drop table'], ['']])(
    'when Api-Version is %j, then 400 unsupported-api-version listing the supported ones, at the latest',
    async (sent) => {
      const res = await request(t.app).get('/health/live').set('Api-Version', sent).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['api-version']).toBe(LATEST_API_VERSION);
      expect(res.body).toMatchObject({
        type: '/problems/unsupported-api-version',
        status: 400,
        supported_versions: [LATEST_API_VERSION, PREVIOUS],
      });
    },
  );

  it('when a browser on an allowed origin sends an unsupported version, then it can read the problem and the version headers', async () => {
    const browserApp = await createTestApp({ env: { CORS_ORIGINS: 'https://partner.example' } });
    try {
      const res = await request(browserApp.app)
        .get('/health/live')
        .set('Origin', 'https://partner.example')
        .set('Api-Version', '1999-01-01')
        .expect(400);
      expect(res.headers['access-control-allow-origin']).toBe('https://partner.example');
      expect(res.headers['access-control-expose-headers']).toContain('Api-Version');
      expect(res.body.type).toBe('/problems/unsupported-api-version');
    } finally {
      await browserApp.close();
    }
  });

  it('when a request names no version and has no credential, then it is served at the latest; problems name their version too', async () => {
    const health = await request(t.app).get('/health/live').expect(200);
    expect(health.headers['api-version']).toBe(LATEST_API_VERSION);
    expect(health.headers.deprecation).toBeUndefined();
    const missing = await request(t.app).get('/v1/nowhere').set('Api-Version', PREVIOUS).expect(404);
    expect(missing.headers['api-version']).toBe(PREVIOUS);
    const malformed = await request(t.app)
      .post('/v1/items')
      .set('Api-Version', PREVIOUS)
      .type('json')
      .send('{"name":')
      .expect(400);
    expect(malformed.headers['api-version']).toBe(PREVIOUS);
  });

  it('when a deprecated version is asked for, then every answer says so with Deprecation, Sunset and a Link to the changelog', async () => {
    const previous = loadApiVersions().get(PREVIOUS)!;
    const res = await request(t.app).get('/health/live').set('Api-Version', PREVIOUS).expect(200);
    expect(res.headers['api-version']).toBe(PREVIOUS);
    expect(res.headers.deprecation).toBe(`@${Math.floor(previous.deprecatedAt!.getTime() / 1000)}`);
    expect(res.headers.sunset).toBe(previous.sunset!.toUTCString());
    expect(res.headers.link).toBe(`</docs/changelog#${PREVIOUS}>; rel="deprecation"; type="text/html"`);
  });

  /**
   * The same scenario at each version, chosen per request with Api-Version or by the caller's pin: create,
   * read, list, patch, a replayed create, and the webhook deliveries of the endpoint at that version.
   */
  async function runScenario(owner: TestUser, version: string, headers: Record<string, string>) {
    const receiver = await startReceiver();
    try {
      const auth = { ...bearer(owner.accessToken), ...headers };
      const endpoint = await request(t.app)
        .post('/v1/webhook-endpoints')
        .set(auth)
        .send({ url: receiver.url, event_types: ['item.created', 'item.updated'], api_version: version })
        .expect(201);
      expect(endpoint.body.api_version).toBe(version);

      const key = crypto.randomUUID();
      const created = await request(t.app)
        .post('/v1/items')
        .set(auth)
        .set('Idempotency-Key', key)
        .send({ name: `at ${version}` })
        .expect(201);
      expect(created.headers['api-version']).toBe(version);
      const itemId = created.body.id as string;
      const replay = await request(t.app)
        .post('/v1/items')
        .set(auth)
        .set('Idempotency-Key', key)
        .send({ name: `at ${version}` })
        .expect(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      const read = await request(t.app).get(`/v1/items/${itemId}`).set(auth).expect(200);
      const listed = await request(t.app).get('/v1/items').set(auth).expect(200);
      const listedItem = (listed.body.data as Json[]).find((item) => item.id === itemId)!;
      const patched = await request(t.app)
        .patch(`/v1/items/${itemId}`)
        .set(auth)
        .set('If-Match', read.headers.etag!)
        .type('application/merge-patch+json')
        .send({ name: 'renamed' })
        .expect(200);

      for (const item of [created.body, replay.body, read.body, listedItem, patched.body] as Json[]) {
        expect(item).toMatchObject(ownerAt(version, owner.id));
        for (const absent of NOT_AT[version]!) expect(item).not.toHaveProperty(absent);
      }

      await receiver.untilReceived(2);
      const verifier = new Webhook(endpoint.body.secret as string);
      const versions = loadApiVersions();
      const validate = createVersionedPayloadValidator({
        latest: versions.latest,
        documentOf: (name) => (name === versions.latest ? loadOpenApiDocument() : versions.documentOf(name)),
      });
      const events = receiver.received.map(
        (hit) => verifier.verify(hit.body, hit.headers as Record<string, string>) as Json,
      );
      expect(events.map((event) => event.type)).toEqual(['item.created', 'item.updated']);
      for (const event of events) {
        expect(validate(event.type as string, event, version)).toEqual({ valid: true });
        expect(event.data).toMatchObject({ id: itemId, ...ownerAt(version, owner.id) });
        for (const absent of NOT_AT[version]!) expect(event.data).not.toHaveProperty(absent);
      }
      // The events API lists exactly what the webhooks carried, at the caller's version.
      const listedEvents = await request(t.app)
        .get('/v1/events')
        .set(auth)
        .query({ type: 'item.updated' })
        .expect(200);
      const listedEvent = (listedEvents.body.data as Json[]).find((event) => event.id === events[1]!.id);
      expect(listedEvent).toEqual(events[1]);
      const oneEvent = await request(t.app)
        .get(`/v1/events/${events[0]!.id as string}`)
        .set(auth)
        .expect(200);
      expect(oneEvent.body).toEqual(events[0]);
      // A page with a next one links it; a deprecated version's page also links its changelog entry.
      await request(t.app).post('/v1/items').set(auth).send({ name: 'a second one' }).expect(201);
      const firstPage = await request(t.app).get('/v1/items').query({ limit: 1 }).set(auth).expect(200);
      const links = firstPage.headers.link!.split(', ');
      expect(links).toContainEqual(
        expect.stringMatching(/^<\/v1\/items\?limit=1&cursor=[^>]+>; rel="next"$/),
      );
      if (version === PREVIOUS)
        expect(links).toContain(`</docs/changelog#${PREVIOUS}>; rel="deprecation"; type="text/html"`);
      else expect(links).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  }

  it.each([[LATEST_API_VERSION], [PREVIOUS]])(
    "when a caller sends Api-Version %s, then items and their webhooks come in that version's shape",
    async (version) => {
      const owner = await createUser(t);
      await runScenario(owner, version, { 'Api-Version': version });
    },
  );

  it('when a user moves their pin, then it is audited and requests without Api-Version are served at it', async () => {
    const owner = await createUser(t);
    const me = await request(t.app).get('/v1/users/me').set(bearer(owner.accessToken)).expect(200);
    expect(me.body.api_version).toBe(LATEST_API_VERSION);
    expect(me.headers['api-version']).toBe(LATEST_API_VERSION);

    const stale = await request(t.app)
      .patch('/v1/users/me')
      .set(bearer(owner.accessToken))
      .set('If-Match', '"999"')
      .send({ api_version: PREVIOUS })
      .expect(412);
    expect(stale.body.type).toBe('/problems/precondition-failed');
    const unsupported = await request(t.app)
      .patch('/v1/users/me')
      .set(bearer(owner.accessToken))
      .set('If-Match', me.headers.etag!)
      .send({ api_version: '2001-01-01' })
      .expect(400);
    expect(unsupported.body.errors).toEqual([expect.objectContaining({ pointer: '/api_version' })]);

    const moved = await request(t.app)
      .patch('/v1/users/me')
      .set(bearer(owner.accessToken))
      .set('If-Match', me.headers.etag!)
      .send({ api_version: PREVIOUS })
      .expect(200);
    expect(moved.body).toMatchObject({ api_version: PREVIOUS, name: 'Test User' });
    // This answer is served at the version the request arrived with; the next request sees the new pin.
    expect(moved.headers['api-version']).toBe(LATEST_API_VERSION);
    const audit = await t.database
      .db('audit_events')
      .where({ resource_id: owner.id, action: 'user.updated' });
    expect(audit).toEqual([
      expect.objectContaining({
        details: { api_version: PREVIOUS, previous_api_version: LATEST_API_VERSION },
      }),
    ]);
    expect(await t.database.db('users').where({ id: owner.id }).first()).toMatchObject({
      api_version: PREVIOUS,
    });

    const pinned = await request(t.app).get('/v1/users/me').set(bearer(owner.accessToken)).expect(200);
    expect(pinned.headers['api-version']).toBe(PREVIOUS);
    expect(pinned.headers.deprecation).toBeDefined();
    // The endpoint created without api_version takes its owner's pin.
    await runScenario(owner, PREVIOUS, {});
    const explicit = await request(t.app)
      .get('/v1/users/me')
      .set(bearer(owner.accessToken))
      .set('Api-Version', LATEST_API_VERSION)
      .expect(200);
    expect(explicit.headers['api-version']).toBe(LATEST_API_VERSION);
  });

  it('when a partner client is pinned back by an administrator, then its API keys and tokens are served at that version', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const partner = await createPartnerClient(t, admin);
    const client = await request(t.app)
      .get(`/v1/clients/${partner.clientId}`)
      .set(bearer(admin.accessToken))
      .expect(200);
    expect(client.body.api_version).toBe(LATEST_API_VERSION);
    const moved = await request(t.app)
      .patch(`/v1/clients/${partner.clientId}`)
      .set(bearer(admin.accessToken))
      .set('If-Match', client.headers.etag!)
      .type('application/merge-patch+json')
      .send({ api_version: PREVIOUS })
      .expect(200);
    expect(moved.body.api_version).toBe(PREVIOUS);
    expect(
      await t.database.db('audit_events').where({ resource_id: partner.clientId, action: 'client.updated' }),
    ).toEqual([
      expect.objectContaining({
        details: { api_version: PREVIOUS, previous_api_version: LATEST_API_VERSION },
      }),
    ]);

    const created = await request(t.app)
      .post('/v1/items')
      .set(bearer(partner.accessToken))
      .send({ name: 'by the partner' })
      .expect(201);
    expect(created.headers['api-version']).toBe(PREVIOUS);
    expect(created.body).toMatchObject(ownerAt(PREVIOUS, partner.clientId, 'client'));
  });
});
