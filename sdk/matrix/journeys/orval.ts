/**
 * orval (fetch client): orval.config.cjs takes the base URL from the served spec and puts header
 * parameters in the signatures; the token goes in each call's RequestInit, as orval's fetch client expects.
 */
import {
  createItem,
  createToken,
  createWebhookEndpoint,
  listItems,
  sendWebhookTestEvent,
  updateItem,
} from './generated/api';
import { runJourney, type Item, type PartnerCalls } from './journey';

let auth: RequestInit = {};

const calls: PartnerCalls = {
  async token(clientId, clientSecret) {
    const answer = await createToken({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    });
    if (answer.status !== 200) throw new Error(`token: ${answer.status}`);
    return answer.data.access_token;
  },
  useToken(token) {
    auth = { headers: { Authorization: `Bearer ${token}` } };
  },
  async createItem(name, key) {
    const answer = await createItem({ name }, { 'Idempotency-Key': key }, auth);
    if (answer.status !== 201) throw new Error(`create: ${answer.status}`);
    return {
      status: answer.status,
      body: answer.data,
      etag: answer.headers.get('etag'),
      replayed: answer.headers.get('idempotent-replayed') === 'true',
    };
  },
  async listAllItems(limit) {
    const items: Item[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await listItems({ limit, ...(cursor ? { cursor } : {}) }, auth);
      if (answer.status !== 200) throw new Error(`list: ${answer.status}`);
      items.push(...answer.data.data);
      cursor = answer.data.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    return { pages, items };
  },
  async renameItem(id, name, ifMatch) {
    const answer = await updateItem(id, { name }, { 'If-Match': ifMatch }, auth);
    return {
      status: answer.status,
      body: answer.status === 200 ? answer.data : undefined,
      etag: answer.headers.get('etag'),
    };
  },
  async createWebhookEndpoint(url) {
    const answer = await createWebhookEndpoint({ url, event_types: ['item.created'] }, undefined, auth);
    if (answer.status !== 201) throw new Error(`webhook endpoint: ${answer.status}`);
    return { id: answer.data.id, secret: answer.data.secret };
  },
  async sendTestEvent(endpointId) {
    return (await sendWebhookTestEvent(endpointId, undefined, auth)).status;
  },
};

runJourney('orval', calls).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
