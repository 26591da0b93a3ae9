/**
 * swagger-typescript-api: the generated `Api` calls the served spec's base URL; the token comes from its
 * `securityWorker`. Header parameters are not in its signatures: they go in each call's `headers`.
 * A non-2xx answer is thrown as the Response, so the stale-ETag step reads its status from the catch.
 */
import { Api, WebhookEventType } from './generated/api';
import { runJourney, type Item, type PartnerCalls } from './journey';

const api = new Api<string>({
  securityWorker: (token) => (token ? { headers: { Authorization: `Bearer ${token}` } } : {}),
});

const calls: PartnerCalls = {
  async token(clientId, clientSecret) {
    const answer = await api.v1.createToken({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    });
    return answer.data.access_token;
  },
  useToken(token) {
    api.setSecurityData(token);
  },
  async createItem(name, key) {
    const answer = await api.v1.createItem({ name }, { headers: { 'Idempotency-Key': key } });
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
      const answer = await api.v1.listItems({ limit, ...(cursor ? { cursor } : {}) });
      items.push(...answer.data.data);
      cursor = answer.data.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    return { pages, items };
  },
  async renameItem(id, name, ifMatch) {
    try {
      const answer = await api.v1.updateItem(id, { name }, { headers: { 'If-Match': ifMatch } });
      return { status: answer.status, body: answer.data, etag: answer.headers.get('etag') };
    } catch (refused) {
      if (refused instanceof Response) return { status: refused.status, body: undefined, etag: null };
      throw refused;
    }
  },
  async createWebhookEndpoint(url) {
    const answer = await api.v1.createWebhookEndpoint({ url, event_types: [WebhookEventType.ItemCreated] });
    return { id: answer.data.id, secret: answer.data.secret };
  },
  async sendTestEvent(endpointId) {
    return (await api.v1.sendWebhookTestEvent(endpointId)).status;
  },
};

runJourney('swagger-typescript-api', calls).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
