/**
 * openapi-typescript + openapi-fetch: types from the served spec, the fetch client configured with the
 * base URL and a middleware that adds the token. The token request is a form: openapi-fetch serialises a
 * body as JSON unless the call says otherwise, so the call names the form content type (its documented
 * way; the API's own SDK wraps it as `formEncoded`).
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './generated/api';
import { env, runJourney, type Item, type PartnerCalls } from './journey';

const api = createClient<paths>({ baseUrl: env('BASE_URL') });

const calls: PartnerCalls = {
  async token(clientId, clientSecret) {
    const { data, error } = await api.POST('/v1/auth/token', {
      body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    if (!data) throw new Error(`token: ${JSON.stringify(error)}`);
    return data.access_token;
  },
  useToken(token) {
    const bearer: Middleware = {
      onRequest({ request }) {
        request.headers.set('Authorization', `Bearer ${token}`);
        return request;
      },
    };
    api.use(bearer);
  },
  async createItem(name, key) {
    const { data, response } = await api.POST('/v1/items', {
      body: { name },
      params: { header: { 'Idempotency-Key': key } },
    });
    if (!data) throw new Error(`create: ${response.status}`);
    return {
      status: response.status,
      body: data,
      etag: response.headers.get('etag'),
      replayed: response.headers.get('idempotent-replayed') === 'true',
    };
  },
  async listAllItems(limit) {
    const items: Item[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const { data } = await api.GET('/v1/items', {
        params: { query: { limit, ...(cursor ? { cursor } : {}) } },
      });
      if (!data) throw new Error('list failed');
      items.push(...data.data);
      cursor = data.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    return { pages, items };
  },
  async renameItem(id, name, ifMatch) {
    const { data, response } = await api.PATCH('/v1/items/{item_id}', {
      params: { path: { item_id: id }, header: { 'If-Match': ifMatch } },
      body: { name },
    });
    return { status: response.status, body: data, etag: response.headers.get('etag') };
  },
  async createWebhookEndpoint(url) {
    const { data } = await api.POST('/v1/webhook-endpoints', {
      body: { url, event_types: ['item.created'] },
    });
    if (!data) throw new Error('webhook endpoint not created');
    return { id: data.id, secret: data.secret };
  },
  async sendTestEvent(endpointId) {
    const { response } = await api.POST('/v1/webhook-endpoints/{endpoint_id}/test-events', {
      params: { path: { endpoint_id: endpointId } },
    });
    return response.status;
  },
};

runJourney('openapi-typescript+openapi-fetch', calls).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
