import type { Knex } from 'knex';
import type { Client, ClientWithSecret } from '../models/client';
import type { ClientScope } from '../models/scopes';
import { auditEventFor, type AuditRepository } from '../repositories/audit.repository';
import { ClientsRepository } from '../repositories/clients.repository';
import type { Page } from '../utils/cursor';
import { keysetPage } from '../utils/keyset-page';
import { NotFoundError } from '../utils/errors';
import { generateOpaqueToken, hashOpaqueToken } from '../utils/opaque-tokens';
import { writeIfMatch } from './conditional-write';
import type { UnitOfWork, WriteContext } from '../infrastructure/unit-of-work';
import type { EventOutbox } from './event-outbox';

export interface ClientsService {
  create(input: { name: string; scopes: ClientScope[] }, context: WriteContext): Promise<ClientWithSecret>;
  list(limit: number, cursor: string | undefined): Promise<Page<Client>>;
  get(id: string): Promise<Client>;
  delete(id: string, ifMatch: string | undefined, context: WriteContext): Promise<void>;
  rotateSecret(id: string, ifMatch: string | undefined, context: WriteContext): Promise<ClientWithSecret>;
}

export function createClientsService(deps: {
  clients: ClientsRepository;
  audit: AuditRepository;
  outbox: EventOutbox;
}): ClientsService {
  const { clients, audit, outbox } = deps;
  // Client events are for administrators' endpoints only, and never carry the secret.
  const clientEvent = (type: 'client.created' | 'client.secret_rotated', client: Client, unit: UnitOfWork) =>
    outbox.record(
      unit,
      { type, resourceType: 'client', resourceId: client.client_id, data: client },
      'administrators',
    );

  const lockExisting = (id: string) => async (trx: Knex.Transaction) => {
    const client = await clients.findByIdForUpdate(id, trx);
    if (!client) throw new NotFoundError('No client with this id.');
    return client;
  };

  return {
    create(input, context) {
      const secret = generateOpaqueToken('cs');
      return context.transaction(async (trx) => {
        const client = await clients.create(
          {
            name: input.name,
            scopes: [...new Set(input.scopes)],
            secretHash: hashOpaqueToken(secret),
            createdBy: context.actor.id,
          },
          trx,
        );
        await audit.append(auditEventFor(context, 'client.created', 'client', client.client_id), trx);
        await clientEvent('client.created', client, context);
        return { ...client, client_secret: secret };
      });
    },

    async list(limit, cursor) {
      return keysetPage({
        cursor,
        limit,
        fetch: (limitPlusOne, after) => clients.list(limitPlusOne, after),
        toModel: ClientsRepository.toClient,
      });
    },

    async get(id) {
      const client = await clients.findById(id);
      if (!client) throw new NotFoundError('No client with this id.');
      return client;
    },

    async delete(id, ifMatch, context) {
      await writeIfMatch(context, ifMatch, lockExisting(id), async (trx) => {
        await clients.delete(id, trx);
        await audit.append(auditEventFor(context, 'client.deleted', 'client', id), trx);
        await outbox.record(
          context,
          { type: 'client.deleted', resourceType: 'client', resourceId: id, data: { id } },
          'administrators',
        );
      });
    },

    rotateSecret(id, ifMatch, context) {
      const secret = generateOpaqueToken('cs');
      return writeIfMatch(context, ifMatch, lockExisting(id), async (trx) => {
        const client = (await clients.updateSecretHash(id, hashOpaqueToken(secret), trx))!;
        await audit.append(auditEventFor(context, 'client.secret_rotated', 'client', id), trx);
        await clientEvent('client.secret_rotated', client, context);
        return { ...client, client_secret: secret };
      });
    },
  };
}
