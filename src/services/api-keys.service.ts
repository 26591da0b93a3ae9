import type { Knex } from 'knex';
import type {
  ApiKey,
  ApiKeyListQuery,
  ApiKeyMergePatch,
  ApiKeyWithSecret,
  CreateApiKeyInput,
} from '../models/api-key';
import { ownerOf } from '../models/owner';
import type { Principal } from '../models/principal';
import { auditEventFor, type AuditRepository } from '../repositories/audit.repository';
import { ApiKeysRepository } from '../repositories/api-keys.repository';
import type { Page } from '../utils/cursor';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../utils/errors';
import { keysetPage } from '../utils/keyset-page';
import { generateOpaqueToken, hashOpaqueToken } from '../utils/opaque-tokens';
import { writeIfMatch } from './conditional-write';
import type { WriteContext } from '../infrastructure/unit-of-work';
import type { EventOutbox } from './event-outbox';

/** How long the previous secret keeps working beside the new one after a rotation. */
export const API_KEY_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** `pak_live_` and four characters: enough to tell keys apart in a list, far too little to guess one. */
const PREFIX_LENGTH = 'pak_live_'.length + 4;

export interface ApiKeysService {
  create(input: CreateApiKeyInput, context: WriteContext): Promise<ApiKeyWithSecret>;
  list(actor: Principal, query: ApiKeyListQuery): Promise<Page<ApiKey>>;
  get(actor: Principal, id: string): Promise<ApiKey>;
  rename(
    id: string,
    patch: ApiKeyMergePatch,
    ifMatch: string | undefined,
    context: WriteContext,
  ): Promise<ApiKey>;
  revoke(id: string, ifMatch: string | undefined, context: WriteContext): Promise<void>;
  rotate(
    id: string,
    ifMatch: string | undefined,
    overlapMs: number | undefined,
    context: WriteContext,
  ): Promise<ApiKeyWithSecret>;
}

function newSecret(): { secret: string; secretHash: string; prefix: string } {
  const secret = generateOpaqueToken('pak_live');
  return { secret, secretHash: hashOpaqueToken(secret), prefix: secret.slice(0, PREFIX_LENGTH) };
}

export function createApiKeysService(deps: {
  apiKeys: ApiKeysRepository;
  audit: AuditRepository;
  outbox: EventOutbox;
}): ApiKeysService {
  const { apiKeys, audit, outbox } = deps;
  // The owner hears of its own keys (a key it did not create is worth an alert); the event never carries a secret.
  const keyEvent = (
    type: 'api_key.created' | 'api_key.rotated' | 'api_key.revoked',
    key: ApiKey,
    context: WriteContext,
  ) =>
    outbox.record(
      context,
      { type, resourceType: 'api_key', resourceId: key.id, data: key },
      ownerOf(context.actor),
    );

  // Another principal's key answers exactly like a missing one, administrators' included.
  const lockOwned = (actor: Principal, id: string) => async (trx: Knex.Transaction) => {
    const key = await apiKeys.findOwnedForUpdate(ownerOf(actor), id, trx);
    if (!key) throw new NotFoundError('No API key with this id.');
    return key;
  };

  return {
    create(input, context) {
      // A key can only narrow what its creator holds now; it never widens it.
      const lacking = input.scopes.filter((scope) => !context.actor.scopes.has(scope));
      if (lacking.length > 0)
        return Promise.reject(
          new ForbiddenError(`You cannot give a key scopes you do not hold: ${lacking.join(', ')}.`),
        );
      if (input.expires_at && Date.parse(input.expires_at) <= Date.now()) {
        const detail = 'The expiry must be in the future.';
        return Promise.reject(
          new ValidationError(detail, [{ location: 'body', pointer: '/expires_at', detail }]),
        );
      }
      const { secret, secretHash, prefix } = newSecret();
      return context.transaction(async (trx) => {
        const key = await apiKeys.create(
          ownerOf(context.actor),
          {
            name: input.name,
            prefix,
            scopes: [...new Set(input.scopes)],
            secretHash,
            expiresAt: input.expires_at ?? null,
          },
          trx,
        );
        await audit.append(auditEventFor(context, 'api_key.created', 'api_key', key.id), trx);
        await keyEvent('api_key.created', key, context);
        return { ...key, secret };
      });
    },

    async list(actor, query) {
      return keysetPage({
        cursor: query.cursor,
        limit: query.limit,
        fetch: (limitPlusOne, after) => apiKeys.list(ownerOf(actor), limitPlusOne, after),
        toModel: ApiKeysRepository.toApiKey,
      });
    },

    async get(actor, id) {
      const key = await apiKeys.findOwned(ownerOf(actor), id);
      if (!key) throw new NotFoundError('No API key with this id.');
      return key;
    },

    rename(id, patch, ifMatch, context) {
      return writeIfMatch(context, ifMatch, lockOwned(context.actor, id), async (trx, current) => {
        const key = patch.name === undefined ? current : await apiKeys.rename(id, patch.name, trx);
        await audit.append(auditEventFor(context, 'api_key.updated', 'api_key', id), trx);
        return key;
      });
    },

    async revoke(id, ifMatch, context) {
      await writeIfMatch(context, ifMatch, lockOwned(context.actor, id), async (trx, current) => {
        if (current.revoked_at) throw new ConflictError('This API key is revoked already.');
        const key = await apiKeys.revoke(id, trx);
        await audit.append(auditEventFor(context, 'api_key.revoked', 'api_key', id), trx);
        await keyEvent('api_key.revoked', key, context);
      });
    },

    rotate(id, ifMatch, overlapMs, context) {
      const { secret, secretHash, prefix } = newSecret();
      return writeIfMatch(context, ifMatch, lockOwned(context.actor, id), async (trx, current) => {
        if (current.revoked_at) throw new ConflictError('A revoked API key cannot be rotated.');
        if (current.expired) throw new ConflictError('An expired API key cannot be rotated.');
        const key = await apiKeys.rotate(
          id,
          {
            secretHash,
            prefix,
            previousExpiresAt: new Date(
              Date.now() + Math.min(overlapMs ?? API_KEY_ROTATION_OVERLAP_MS, API_KEY_ROTATION_OVERLAP_MS),
            ),
          },
          trx,
        );
        await audit.append(auditEventFor(context, 'api_key.rotated', 'api_key', id), trx);
        await keyEvent('api_key.rotated', key, context);
        return { ...key, secret };
      });
    },
  };
}
