import type { JsonObject, VersionChange } from '../version-change';

/** `owner: {type, id}` back to the `owner_id` and `owner_type` that 2026-11-30 carries. */
function itemDown(item: JsonObject): JsonObject {
  const { owner, ...rest } = item as JsonObject & { owner: { type: string; id: string } };
  return { ...rest, owner_id: owner.id, owner_type: owner.type };
}

const pageDown = (page: JsonObject): JsonObject => ({
  ...page,
  data: (page.data as JsonObject[]).map(itemDown),
});

const eventDown = (event: JsonObject): JsonObject => ({ ...event, data: itemDown(event.data as JsonObject) });

const ITEM_EVENTS = new Set(['item.created', 'item.updated']);
/** An event as `GET /v1/events` lists it: exactly what the webhook of its type carries at this version. */
const envelopeDown = (event: JsonObject): JsonObject =>
  ITEM_EVENTS.has(event.type as string) ? eventDown(event) : event;

export const itemOwnerObject: VersionChange = {
  version: '2026-12-07',
  description: 'Items name their owner in one `owner` object instead of `owner_id` and `owner_type`.',
  responseDown: {
    createItem: itemDown,
    getItem: itemDown,
    updateItem: itemDown,
    listItems: pageDown,
    getEvent: envelopeDown,
    listEvents: (page) => ({ ...page, data: (page.data as JsonObject[]).map(envelopeDown) }),
  },
  webhookDown: {
    'item.created': eventDown,
    'item.updated': eventDown,
  },
};
