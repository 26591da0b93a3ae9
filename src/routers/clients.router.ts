import type { ClientsService } from '../services/clients.service';
import { etagOf } from '../utils/etag';
import { versioned } from './conditional-get';
import type { HandlerMap } from '../dependencies/handler-map';

export function createClientsHandlers(deps: {
  clients: ClientsService;
}): Pick<HandlerMap, 'createClient' | 'listClients' | 'getClient' | 'deleteClient' | 'rotateClientSecret'> {
  const { clients } = deps;
  return {
    createClient: async (req, context) => {
      const client = await clients.create(req.body, context.writeContext());
      return {
        status: 201,
        headers: {
          Location: `/v1/clients/${client.client_id}`,
          ETag: etagOf(client.version),
          'Cache-Control': 'no-store',
        },
        body: client,
      };
    },
    listClients: async (req) => ({
      status: 200,
      body: await clients.list(req.query.limit, req.query.cursor),
    }),
    getClient: async (req) => versioned(req, await clients.get(req.params.client_id)),
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
      return {
        status: 200,
        headers: { ETag: etagOf(client.version), 'Cache-Control': 'no-store' },
        body: client,
      };
    },
  };
}
