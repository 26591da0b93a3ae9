import { writeContextOf } from '../dependencies/write-context';
import type { ClientsService } from '../services/clients.service';
import { etagOf } from '../utils/etag';
import { sendVersioned } from './conditional-get';
import type { HandlerMap } from './handler-map';

export function createClientsHandlers(deps: {
  clients: ClientsService;
}): Pick<HandlerMap, 'createClient' | 'listClients' | 'getClient' | 'deleteClient' | 'rotateClientSecret'> {
  const { clients } = deps;
  return {
    createClient: async (req, res) => {
      const client = await clients.create(req.body, writeContextOf(req));
      res
        .status(201)
        .location(`/v1/clients/${client.client_id}`)
        .set('ETag', etagOf(client.version))
        .set('Cache-Control', 'no-store')
        .json(client);
    },
    listClients: async (req, res) => {
      res.json(await clients.list(req.query.limit, req.query.cursor));
    },
    getClient: async (req, res) => {
      sendVersioned(req, res, await clients.get(req.params.client_id));
    },
    deleteClient: async (req, res) => {
      await clients.delete(req.params.client_id, req.get('If-Match'), writeContextOf(req));
      res.status(204).end();
    },
    rotateClientSecret: async (req, res) => {
      const client = await clients.rotateSecret(
        req.params.client_id,
        req.get('If-Match'),
        writeContextOf(req),
      );
      res.set({ ETag: etagOf(client.version), 'Cache-Control': 'no-store' }).json(client);
    },
  };
}
