import type { ClientsService } from '../services/clients.service';
import { versioned } from './conditional-get';
import { created, updated, NO_STORE } from './versioned-write';
import type { HandlerMap } from '../dependencies/handler-map';

// A client's secret is in the body of these answers, shown once: no cache may keep it.

export function createClientsHandlers(deps: {
  clients: ClientsService;
}): Pick<
  HandlerMap,
  'createClient' | 'listClients' | 'getClient' | 'updateClientKeys' | 'deleteClient' | 'rotateClientSecret'
> {
  const { clients } = deps;
  return {
    createClient: async (req, context) => {
      const client = await clients.create(req.body, context.writeContext());
      return created(client, `/v1/clients/${client.client_id}`, NO_STORE);
    },
    listClients: async (req) => ({
      status: 200,
      body: await clients.list(req.query.limit, req.query.cursor),
    }),
    getClient: async (req) => versioned(req, await clients.get(req.params.client_id)),
    updateClientKeys: async (req, context) => {
      const client = await clients.updateKeys(
        req.params.client_id,
        req.body,
        req.get('If-Match'),
        context.writeContext(),
      );
      return updated(client);
    },
    deleteClient: async (req, context) => {
      await clients.delete(req.params.client_id, req.get('If-Match'), context.writeContext());
      return { status: 204 };
    },
    rotateClientSecret: async (req, context) => {
      const client = await clients.rotateSecret(
        req.params.client_id,
        req.get('If-Match'),
        context.writeContext(),
      );
      return updated(client, NO_STORE);
    },
  };
}
