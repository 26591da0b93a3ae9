import { requirePrincipal } from '../dependencies/authenticator';
import type { ItemsService } from '../services/items.service';
import { versioned } from './conditional-get';
import { created, updated } from './versioned-write';
import type { HandlerMap } from '../dependencies/handler-map';

export function createItemsHandlers(deps: {
  items: ItemsService;
}): Pick<HandlerMap, 'createItem' | 'listItems' | 'getItem' | 'updateItem' | 'deleteItem'> {
  const { items } = deps;
  return {
    createItem: async (req, context) => {
      const item = await items.create(req.body, context.writeContext());
      return created(item, `/v1/items/${item.id}`);
    },
    listItems: async (req) => ({ status: 200, body: await items.list(requirePrincipal(req), req.query) }),
    getItem: async (req) => versioned(req, await items.get(requirePrincipal(req), req.params.item_id)),
    updateItem: async (req, context) => {
      const item = await items.update(
        req.params.item_id,
        req.body,
        req.get('If-Match'),
        context.writeContext(),
      );
      return updated(item);
    },
    deleteItem: async (req, context) => {
      await items.delete(req.params.item_id, req.get('If-Match'), context.writeContext());
      return { status: 204 };
    },
  };
}
