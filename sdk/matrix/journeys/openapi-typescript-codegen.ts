/**
 * openapi-typescript-codegen (unmaintained since 2023; its README sends users to @hey-api/openapi-ts):
 * `OpenAPI.BASE` comes from the served spec, `OpenAPI.TOKEN` is the token. Two limits of the generator
 * remain: it sends every form body as multipart/form-data, which the RFC 6749 token endpoint refuses
 * (415), so the token request is one `fetch` to the token URL the served spec names; and its calls return
 * bodies only, so the ETag is read from the item's `version` (the ETag is the version, quoted) and a replay
 * is recognised by the same item coming back.
 */
import { ApiError, ItemsService, OpenAPI, WebhookEventType, WebhooksService, type Item } from './generated';
import { runJourney, type PartnerCalls } from './journey';

const calls: PartnerCalls = {
  async token(clientId, clientSecret) {
    const answer = await fetch(`${OpenAPI.BASE}/v1/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }),
    });
    const body: unknown = await answer.json();
    if (!answer.ok || typeof body !== 'object' || body === null || !('access_token' in body))
      throw new Error(`token: ${answer.status}`);
    return String(body.access_token);
  },
  useToken(token) {
    OpenAPI.TOKEN = token;
  },
  async createItem(name, key) {
    const item = await ItemsService.createItem({ name }, key);
    return { status: 201, body: item, etag: `"${item.version}"` };
  },
  async listAllItems(limit) {
    const items: Item[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await ItemsService.listItems(limit, cursor);
      items.push(...page.data);
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    return { pages, items };
  },
  async renameItem(id, name, ifMatch) {
    try {
      const item = await ItemsService.updateItem(id, ifMatch, { name });
      return { status: 200, body: item, etag: `"${item.version}"` };
    } catch (refused) {
      if (refused instanceof ApiError) return { status: refused.status, body: undefined, etag: null };
      throw refused;
    }
  },
  async createWebhookEndpoint(url) {
    const endpoint = await WebhooksService.createWebhookEndpoint({
      url,
      event_types: [WebhookEventType.ITEM_CREATED],
    });
    return { id: endpoint.id, secret: endpoint.secret };
  },
  async sendTestEvent(endpointId) {
    await WebhooksService.sendWebhookTestEvent(endpointId);
    return 202;
  },
};

runJourney('openapi-typescript-codegen', calls).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
