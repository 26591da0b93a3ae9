import type { Knex } from 'knex';
import type { Client, ClientJwks, ClientWithSecret, TokenEndpointAuthMethod } from '../models/client';
import type { ClientScope } from '../models/scopes';
import { auditEventFor, type AuditRepository } from '../repositories/audit.repository';
import { ClientsRepository } from '../repositories/clients.repository';
import type { Page } from '../utils/cursor';
import { keysetPage } from '../utils/keyset-page';
import { ConflictError, NotFoundError, ValidationError } from '../utils/errors';
import type { NewClientCredentials } from '../repositories/clients.repository';
import type { TargetUrlDecision } from '../webhooks/target-url-policy';
import { jwksProblems } from './token-grants/client-assertion';
import { generateOpaqueToken, hashOpaqueToken } from '../utils/opaque-tokens';
import { writeIfMatch } from './conditional-write';
import type { UnitOfWork, WriteContext } from '../infrastructure/unit-of-work';
import type { EventOutbox } from './event-outbox';
import { LATEST_API_VERSION, requireSupportedVersion } from '../versions/catalog';

export interface NewClientInput {
  name: string;
  scopes: ClientScope[];
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  jwks?: ClientJwks;
  jwks_uri?: string;
}

export interface ClientsService {
  create(input: NewClientInput, context: WriteContext): Promise<ClientWithSecret>;
  list(limit: number, cursor: string | undefined): Promise<Page<Client>>;
  get(id: string): Promise<Client>;
  delete(id: string, ifMatch: string | undefined, context: WriteContext): Promise<void>;
  rotateSecret(id: string, ifMatch: string | undefined, context: WriteContext): Promise<ClientWithSecret>;
  updateKeys(
    id: string,
    patch: { jwks?: ClientJwks; jwks_uri?: string; api_version?: string },
    ifMatch: string | undefined,
    context: WriteContext,
  ): Promise<Client>;
}

export function createClientsService(deps: {
  clients: ClientsRepository;
  audit: AuditRepository;
  outbox: EventOutbox;
  /** The target URL policy (https, public addresses only), applied to a JWKS URL when it is registered. */
  checkUrl: (url: string) => Promise<TargetUrlDecision>;
}): ClientsService {
  const { clients, audit, outbox } = deps;

  const refuse = (pointer: string, detail: string) =>
    new ValidationError(detail, [{ location: 'body', pointer, detail }]);

  /** How the new client authenticates, every input checked before anything is written. */
  const credentialsOf = async (
    input: NewClientInput,
  ): Promise<{ credentials: NewClientCredentials; secret?: string }> => {
    const method = input.token_endpoint_auth_method ?? 'client_secret_basic';
    if (method !== 'private_key_jwt') {
      if (input.jwks || input.jwks_uri) {
        throw refuse(input.jwks ? '/jwks' : '/jwks_uri', 'Keys are only for private_key_jwt clients.');
      }
      const secret = generateOpaqueToken('cs');
      return { credentials: { method, secretHash: hashOpaqueToken(secret) }, secret };
    }
    return { credentials: { method, ...(await keySourceOf(input)) } };
  };

  /** Exactly one key source, its keys public and importable, or its URL allowed by the target policy. */
  const keySourceOf = async (input: {
    jwks?: ClientJwks;
    jwks_uri?: string;
  }): Promise<{ jwks: ClientJwks; jwksUri?: undefined } | { jwks?: undefined; jwksUri: string }> => {
    if (input.jwks && input.jwks_uri) throw refuse('/jwks_uri', 'Send jwks or jwks_uri, not both.');
    if (input.jwks) {
      const problems = await jwksProblems(input.jwks);
      if (problems.length > 0) throw refuse('/jwks', problems.join('; '));
      return { jwks: input.jwks };
    }
    if (input.jwks_uri) {
      const decision = await deps.checkUrl(input.jwks_uri);
      if (!decision.ok) throw refuse('/jwks_uri', decision.message.replace('webhook URL', 'JWKS URL'));
      return { jwksUri: input.jwks_uri };
    }
    throw refuse('/jwks', 'A private_key_jwt client needs jwks or jwks_uri.');
  };
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
    async create(input, context) {
      const { credentials, secret } = await credentialsOf(input);
      return context.transaction(async (trx) => {
        const client = await clients.create(
          {
            name: input.name,
            scopes: [...new Set(input.scopes)],
            credentials,
            createdBy: context.actor.id,
            apiVersion: LATEST_API_VERSION,
          },
          trx,
        );
        await audit.append(auditEventFor(context, 'client.created', 'client', client.client_id), trx);
        await clientEvent('client.created', client, context);
        return secret === undefined ? client : { ...client, client_secret: secret };
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
      const lockSecretClient = async (trx: Knex.Transaction) => {
        const client = await lockExisting(id)(trx);
        if (client.token_endpoint_auth_method === 'private_key_jwt') {
          throw new ConflictError(
            'This client authenticates with private_key_jwt and has no secret to rotate.',
          );
        }
        return client;
      };
      return writeIfMatch(context, ifMatch, lockSecretClient, async (trx) => {
        const client = (await clients.updateSecretHash(id, hashOpaqueToken(secret), trx))!;
        await audit.append(auditEventFor(context, 'client.secret_rotated', 'client', id), trx);
        await clientEvent('client.secret_rotated', client, context);
        return { ...client, client_secret: secret };
      });
    },

    async updateKeys(id, patch, ifMatch, context) {
      const { api_version: requestedVersion, ...keyPatch } = patch;
      const apiVersion =
        requestedVersion === undefined ? undefined : requireSupportedVersion(requestedVersion);
      const changesKeys = keyPatch.jwks !== undefined || keyPatch.jwks_uri !== undefined;
      // Checked before the transaction: the URL check may wait on DNS, which no row lock should.
      const keys = changesKeys ? await keySourceOf(keyPatch) : undefined;
      const lockClient = async (trx: Knex.Transaction) => {
        const client = await lockExisting(id)(trx);
        if (keys && client.token_endpoint_auth_method !== 'private_key_jwt') {
          throw new ConflictError('This client authenticates with a secret and has no keys to replace.');
        }
        return client;
      };
      return writeIfMatch(context, ifMatch, lockClient, async (trx, before) => {
        let client = before;
        if (keys) {
          client = (await clients.updateKeys(id, keys, trx))!;
          await audit.append(auditEventFor(context, 'client.keys_updated', 'client', id), trx);
        }
        if (apiVersion !== undefined && apiVersion !== before.api_version) {
          client = (await clients.updateApiVersion(id, apiVersion, trx))!;
          await audit.append(
            auditEventFor(context, 'client.updated', 'client', id, {
              api_version: apiVersion,
              previous_api_version: before.api_version,
            }),
            trx,
          );
        }
        return client;
      });
    },
  };
}
