import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createPartnerApiClient,
  formEncoded,
  mergePatch,
  verifyWebhook,
  WebhookVerificationError,
  type PartnerApiClient,
  type WebhookEventOf,
} from '../../sdk';
import { expectSchema } from '../support/contract';
import { createTestApp, type TestApp } from '../support/test-app';
import { newSecret, refusalOf, startReceiver } from '../support/webhook-fixtures';

/**
 * A partner's whole journey, driven only through the SDK (openapi-fetch over the generated types) against
 * the real app listening on a real port: no supertest, no database shortcuts.
 */
describe('the SDK against the running API', () => {
  let t: TestApp;
  let server: Server;
  let baseUrl: string;
  let accessToken: string | undefined;
  let api: PartnerApiClient;

  beforeAll(async () => {
    t = await createTestApp();
    server = createServer(t.app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    api = createPartnerApiClient({ baseUrl, accessToken: () => accessToken });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await t.close();
  });

  it('when a partner registers, signs in, manages an item and signs out, then every step answers as documented', async () => {
    const email = `sdk-${randomUUID()}@example.com`;
    const password = 'saffron-lantern-quartz-17';

    const registered = await api.POST('/v1/auth/register', {
      body: { email, password, name: 'SDK Partner' },
    });
    expect(registered.response.status).toBe(201);
    expect(registered.data).toMatchObject({ email, role: 'user' });

    const signedIn = await api.POST('/v1/auth/token', {
      body: { grant_type: 'password', username: email, password },
      ...formEncoded,
    });
    expect(signedIn.response.status).toBe(200);
    expect(signedIn.data?.refresh_token).toEqual(expect.any(String));
    accessToken = signedIn.data!.access_token;

    // Rename themselves with the ETag of their account; the ETag read before the change is stale after it.
    const me = await api.GET('/v1/users/me');
    const myEtag = me.response.headers.get('etag')!;
    expect(myEtag).toBe(`"${me.data!.version}"`);
    const renamed = await api.PATCH('/v1/users/me', {
      params: { header: { 'If-Match': myEtag } },
      body: { name: 'SDK Partner Renamed' },
      ...mergePatch,
    });
    expect(renamed.response.status).toBe(200);
    expect(renamed.data).toMatchObject({ name: 'SDK Partner Renamed', version: me.data!.version + 1 });
    expect(renamed.response.headers.get('etag')).toBe(`"${me.data!.version + 1}"`);
    const lost = await api.PATCH('/v1/users/me', {
      params: { header: { 'If-Match': myEtag } },
      body: { name: 'Lost Update' },
      ...mergePatch,
    });
    expect(lost.error).toMatchObject({ type: '/problems/precondition-failed', status: 412 });

    // Create with an Idempotency-Key, then retry it: the same item, replayed.
    const key = randomUUID();
    const body = { name: 'Blue widget', tags: ['sdk'], metadata: { sku: 'BW-1' } };
    const created = await api.POST('/v1/items', { params: { header: { 'Idempotency-Key': key } }, body });
    expect(created.response.status).toBe(201);
    const item = created.data!;
    expectSchema('Item', item);
    expect(created.response.headers.get('location')).toBe(`/v1/items/${item.id}`);
    const retried = await api.POST('/v1/items', { params: { header: { 'Idempotency-Key': key } }, body });
    expect(retried.response.status).toBe(201);
    expect(retried.data?.id).toBe(item.id);
    expect(retried.response.headers.get('idempotent-replayed')).toBe('true');

    const listed = await api.GET('/v1/items', { params: { query: { limit: 10, tag: 'sdk' } } });
    expect(listed.data?.data.map((each) => each.id)).toEqual([item.id]);
    expect(listed.data?.next_cursor).toBeNull();

    // Read its ETag, change it with If-Match (merge patch), then delete it with the new ETag.
    const read = await api.GET('/v1/items/{item_id}', { params: { path: { item_id: item.id } } });
    const etag = read.response.headers.get('etag')!;
    expect(etag).toBe('"1"');
    const patched = await api.PATCH('/v1/items/{item_id}', {
      params: { path: { item_id: item.id }, header: { 'If-Match': etag } },
      body: { status: 'archived', metadata: { sku: null, color: 'blue' } },
      ...mergePatch,
    });
    expect(patched.response.status).toBe(200);
    expect(patched.data).toMatchObject({ status: 'archived', metadata: { color: 'blue' }, version: 2 });
    const stale = await api.DELETE('/v1/items/{item_id}', {
      params: { path: { item_id: item.id }, header: { 'If-Match': etag } },
    });
    expect(stale.response.status).toBe(412);
    expect(stale.error).toMatchObject({ type: '/problems/precondition-failed', status: 412 });
    const deleted = await api.DELETE('/v1/items/{item_id}', {
      params: { path: { item_id: item.id }, header: { 'If-Match': patched.response.headers.get('etag')! } },
    });
    expect(deleted.response.status).toBe(204);
    const gone = await api.GET('/v1/items/{item_id}', { params: { path: { item_id: item.id } } });
    expect(gone.error).toMatchObject({ type: '/problems/not-found', status: 404 });

    // Refresh (the refresh token rotates), revoke the session, and its access token stops working.
    const refreshed = await api.POST('/v1/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: signedIn.data!.refresh_token! },
      ...formEncoded,
    });
    expect(refreshed.response.status).toBe(200);
    expect(refreshed.data?.refresh_token).not.toBe(signedIn.data!.refresh_token);
    accessToken = refreshed.data!.access_token;
    expect((await api.GET('/v1/users/me')).data).toMatchObject({ email });

    const revoked = await api.POST('/v1/auth/revoke', {
      body: { token: refreshed.data!.refresh_token!, token_type_hint: 'refresh_token' },
      ...formEncoded,
    });
    expect(revoked.response.status).toBe(200);
    const after = await api.GET('/v1/users/me');
    expect(after.response.status).toBe(401);
    expect(after.error).toMatchObject({ type: '/problems/unauthorized', status: 401 });
  });
});

/** A receiver on a loopback port that answers every delivery 204 and hands it to the test as it arrived. */
/**
 * A real delivery from the running app's delivery worker (wired as in production: one secret box, nudged
 * after each commit) to a receiver on a loopback port, verified with the SDK's `verifyWebhook`.
 */
describe('the SDK verifying webhook deliveries from the running API', () => {
  let t: TestApp;
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' }, webhookDelivery: true });
    server = createServer(t.app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await t.close();
  });

  async function signedInPartner(): Promise<PartnerApiClient> {
    const email = `sdk-webhooks-${randomUUID()}@example.com`;
    const password = 'saffron-lantern-quartz-17';
    const api = createPartnerApiClient({ baseUrl });
    expect(
      (await api.POST('/v1/auth/register', { body: { email, password, name: 'Hooks' } })).response.status,
    ).toBe(201);
    const { data: token } = await api.POST('/v1/auth/token', {
      body: { grant_type: 'password', username: email, password },
      ...formEncoded,
    });
    return createPartnerApiClient({ baseUrl, accessToken: () => token?.access_token });
  }

  it('when an item is created, then its endpoint receives a delivery that verifyWebhook accepts as the typed item.created event', async () => {
    const receiver = await startReceiver();
    try {
      const api = await signedInPartner();
      const registered = await api.POST('/v1/webhook-endpoints', {
        body: { url: receiver.url, event_types: ['item.created'] },
      });
      expect(registered.response.status).toBe(201);
      const secret = registered.data!.secret;

      const created = await api.POST('/v1/items', { body: { name: 'Hooked widget', tags: ['webhooks'] } });
      expect(created.response.status).toBe(201);
      await receiver.untilReceived(1);
      const { headers, body } = receiver.received[0]!;

      const event = verifyWebhook(secret, body, headers);
      expect(event.type).toBe('item.created');
      if (event.type !== 'item.created') throw new Error(`unexpected event ${event.type}`);
      const itemCreated: WebhookEventOf<'item.created'> = event;
      expect(itemCreated.data).toEqual(created.data);
      expect(headers['webhook-id']).toBe(`msg_${event.id}`);
      // A fetch Headers (a Request in a serverless handler) and a receiver holding the old and new secret.
      const otherSecret = newSecret();
      expect(
        verifyWebhook([otherSecret, secret], body, new Headers(headers as Record<string, string>)),
      ).toEqual(event);
    } finally {
      await receiver.close();
    }
  });

  it('when a delivery is tampered with, signed with another secret, stale or unsigned, then verifyWebhook refuses it', async () => {
    const receiver = await startReceiver();
    try {
      const api = await signedInPartner();
      const registered = await api.POST('/v1/webhook-endpoints', {
        body: { url: receiver.url, event_types: ['item.created'] },
      });
      const secret = registered.data!.secret;
      await api.POST('/v1/items', { body: { name: 'Genuine widget' } });
      await receiver.untilReceived(1);
      const { headers, body } = receiver.received[0]!;
      expect(verifyWebhook(secret, body, headers).type).toBe('item.created');

      const tampered = body.replace('Genuine widget', 'Forged widget');
      expect(tampered).not.toBe(body);
      expect(() => verifyWebhook(secret, tampered, headers)).toThrow(WebhookVerificationError);
      expect(refusalOf(() => verifyWebhook(secret, tampered, headers))).toBe('bad-signature');
      const wrongSecret = newSecret();
      expect(refusalOf(() => verifyWebhook(wrongSecret, body, headers))).toBe('bad-signature');
      const sentAt = new Date(Number(headers['webhook-timestamp']) * 1000);
      const sixMinutesLater = new Date(sentAt.getTime() + 6 * 60_000);
      expect(refusalOf(() => verifyWebhook(secret, body, headers, { now: sixMinutesLater }))).toBe(
        'timestamp-out-of-tolerance',
      );
      expect(verifyWebhook(secret, body, headers, { now: sixMinutesLater, toleranceSeconds: 600 }).type).toBe(
        'item.created',
      );
      const unsigned = { ...headers, 'webhook-signature': undefined };
      expect(refusalOf(() => verifyWebhook(secret, body, unsigned))).toBe('missing-headers');
    } finally {
      await receiver.close();
    }
  });
});
