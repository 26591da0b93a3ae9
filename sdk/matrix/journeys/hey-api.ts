/** @hey-api/openapi-ts: the generated client calls the served spec's base URL; the token goes in `auth`. */
import { client } from './generated/client.gen';
import {
  createItem,
  createToken,
  createWebhookEndpoint,
  listItems,
  sendWebhookTestEvent,
  updateItem,
} from './generated/sdk.gen';
import { runJourney, type Item, type PartnerCalls } from './journey';

let accessToken = '';

const calls: PartnerCalls = {
  async token(clientId, clientSecret) {
    const { data } = await createToken({
      body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
      throwOnError: true,
    });
    return data.access_token;
  },
  useToken(token) {
    accessToken = token;
    client.setConfig({ auth: () => accessToken });
  },
  async createItem(name, key) {
    const { data, response } = await createItem({
      body: { name },
      headers: { 'Idempotency-Key': key },
      throwOnError: true,
    });
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
      const { data } = await listItems({
        query: { limit, ...(cursor ? { cursor } : {}) },
        throwOnError: true,
      });
      items.push(...data.data);
      cursor = data.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    return { pages, items };
  },
  async renameItem(id, name, ifMatch) {
    const { data, response } = await updateItem({
      path: { item_id: id },
      body: { name },
      headers: { 'If-Match': ifMatch },
    });
    return { status: response.status, body: data, etag: response.headers.get('etag') };
  },
  async createWebhookEndpoint(url) {
    const { data } = await createWebhookEndpoint({
      body: { url, event_types: ['item.created'] },
      throwOnError: true,
    });
    return { id: data.id, secret: data.secret };
  },
  async sendTestEvent(endpointId) {
    const { response } = await sendWebhookTestEvent({
      path: { endpoint_id: endpointId },
      throwOnError: true,
    });
    return response.status;
  },
};

runJourney('@hey-api/openapi-ts', calls).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
