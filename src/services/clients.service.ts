import type { Client, ClientWithSecret } from '../models/client';
import type { Principal } from '../models/principal';
import type { ClientScope } from '../models/scopes';
import { ClientsRepository } from '../repositories/clients.repository';
import { decodeCursor, toPage, type Page } from '../utils/cursor';
import { NotFoundError } from '../utils/errors';
import { generateOpaqueToken, hashOpaqueToken } from '../utils/opaque-tokens';

export interface ClientsService {
  create(actor: Principal, input: { name: string; scopes: ClientScope[] }): Promise<ClientWithSecret>;
  list(limit: number, cursor: string | undefined): Promise<Page<Client>>;
  get(id: string): Promise<Client>;
  delete(id: string): Promise<void>;
  rotateSecret(id: string): Promise<ClientWithSecret>;
}

export function createClientsService(deps: { clients: ClientsRepository }): ClientsService {
  const { clients } = deps;
  return {
    async create(actor, input) {
      const secret = generateOpaqueToken('cs');
      const client = await clients.create({
        name: input.name,
        scopes: [...new Set(input.scopes)],
        secretHash: hashOpaqueToken(secret),
        createdBy: actor.id,
      });
      return { ...client, client_secret: secret };
    },

    async list(limit, cursor) {
      const after = cursor ? (decodeCursor(cursor, 2) as [string, string]) : undefined;
      const rows = await clients.list(limit + 1, after);
      return toPage(rows, limit, ClientsRepository.toClient, (row) => [row.cursor_created_at, row.id]);
    },

    async get(id) {
      const client = await clients.findById(id);
      if (!client) throw new NotFoundError('No client with this id.');
      return client;
    },

    async delete(id) {
      if (!(await clients.delete(id))) throw new NotFoundError('No client with this id.');
    },

    async rotateSecret(id) {
      const secret = generateOpaqueToken('cs');
      const client = await clients.updateSecretHash(id, hashOpaqueToken(secret));
      if (!client) throw new NotFoundError('No client with this id.');
      return { ...client, client_secret: secret };
    },
  };
}
