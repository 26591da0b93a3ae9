import { requirePrincipal } from '../dependencies/authenticator';
import type { Idempotency } from '../dependencies/idempotency';
import type { Item } from '../models/item';
import type { StoredResponse } from '../repositories/idempotency.repository';
import type { ItemsService } from '../services/items.service';
import { etagOf } from '../utils/etag';
import { sendVersioned } from './conditional-get';
import type { HandlerMap } from './handler-map';
import { writeContextOf } from '../dependencies/write-context';

function createdResponse(item: Item): StoredResponse {
  return {
    status: 201,
    headers: {
      Location: `/v1/items/${item.id}`,
      ETag: etagOf(item.version),
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(item),
  };
}

export function createItemsHandlers(deps: {
  items: ItemsService;
  idempotency: Idempotency;
}): Pick<HandlerMap, 'createItem' | 'listItems' | 'getItem' | 'updateItem' | 'deleteItem'> {
  const { items, idempotency } = deps;
  return {
    createItem: async (req, res) => {
      const item = await items.create(req.body, idempotency.writeContext(req, createdResponse));
      const { status, headers } = createdResponse(item);
      res.status(status).set(headers).json(item);
    },
    listItems: async (req, res) => {
      res.json(await items.list(requirePrincipal(req), req.query));
    },
    getItem: async (req, res) => {
      sendVersioned(req, res, await items.get(requirePrincipal(req), req.params.item_id));
    },
    updateItem: async (req, res) => {
      const item = await items.update(req.params.item_id, req.body, req.get('If-Match'), writeContextOf(req));
      res.set('ETag', etagOf(item.version)).json(item);
    },
    deleteItem: async (req, res) => {
      await items.delete(req.params.item_id, req.get('If-Match'), writeContextOf(req));
      res.status(204).end();
    },
  };
}
