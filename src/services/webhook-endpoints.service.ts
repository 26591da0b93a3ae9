import type { Knex } from 'knex';
import { ownerOf } from '../models/owner';
import type { Principal } from '../models/principal';
import type {
  RecoverWebhookEndpointInput,
  WebhookRecovery,
  CreateWebhookEndpointInput,
  WebhookDelivery,
  WebhookDeliveryListQuery,
  WebhookEndpoint,
  WebhookEndpointListQuery,
  WebhookEndpointMergePatch,
  WebhookEndpointWithSecret,
} from '../models/webhook';
import { auditEventFor, type AuditRepository } from '../repositories/audit.repository';
import { WebhookEndpointsRepository } from '../repositories/webhook-endpoints.repository';
import { WebhookEventsRepository } from '../repositories/webhook-events.repository';
import type { EventOutbox } from './event-outbox';
import type { Page } from '../utils/cursor';
import { NotFoundError, ValidationError } from '../utils/errors';
import { keysetPage } from '../utils/keyset-page';
import type { SecretBox } from '../webhooks/secret-box';
import { generateWebhookSecret } from '../webhooks/secret-box';
import type { TargetUrlDecision } from '../webhooks/target-url-policy';
import { writeIfMatch } from './conditional-write';
import { keptSince } from './list-filters';
import { toDatabaseInstant } from '../utils/instant';
import type { WriteContext } from '../infrastructure/unit-of-work';
import { LATEST_API_VERSION, requireSupportedVersion } from '../versions/catalog';

/** How long the previous secret keeps signing beside the new one after a rotation. */
export const SECRET_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

export interface WebhookEndpointsService {
  create(input: CreateWebhookEndpointInput, context: WriteContext): Promise<WebhookEndpointWithSecret>;
  list(actor: Principal, query: WebhookEndpointListQuery): Promise<Page<WebhookEndpoint>>;
  get(actor: Principal, id: string): Promise<WebhookEndpoint>;
  update(
    id: string,
    patch: WebhookEndpointMergePatch,
    ifMatch: string | undefined,
    context: WriteContext,
  ): Promise<WebhookEndpoint>;
  delete(id: string, ifMatch: string | undefined, context: WriteContext): Promise<void>;
  rotateSecret(
    id: string,
    ifMatch: string | undefined,
    context: WriteContext,
  ): Promise<WebhookEndpointWithSecret>;
  listDeliveries(
    actor: Principal,
    id: string,
    query: WebhookDeliveryListQuery,
  ): Promise<Page<WebhookDelivery>>;
  redeliver(id: string, deliveryId: string, context: WriteContext): Promise<WebhookDelivery>;
  sendTestEvent(id: string, context: WriteContext): Promise<WebhookDelivery>;
  recover(id: string, input: RecoverWebhookEndpointInput, context: WriteContext): Promise<WebhookRecovery>;
}

export function createWebhookEndpointsService(deps: {
  webhookEndpoints: WebhookEndpointsRepository;
  webhookEvents: WebhookEventsRepository;
  outbox: EventOutbox;
  audit: AuditRepository;
  secrets: SecretBox;
  /** The target URL policy (https, public addresses only), applied when a URL is registered or changed. */
  checkUrl: (url: string) => Promise<TargetUrlDecision>;
  /** How far back events are kept, and so how far back a recovery may start. */
  eventsRetentionDays: number;
  now?: () => Date;
}): WebhookEndpointsService {
  const now = deps.now ?? (() => new Date());
  const { webhookEndpoints: endpoints, webhookEvents: events, outbox, audit, secrets } = deps;

  // Another principal's endpoint answers exactly like a missing one, administrators' included.
  const ownedOrMissing = (endpoint: WebhookEndpoint | undefined): WebhookEndpoint => {
    if (!endpoint) throw new NotFoundError('No webhook endpoint with this id.');
    return endpoint;
  };
  const lockOwned = (actor: Principal, id: string) => async (trx: Knex.Transaction) =>
    ownedOrMissing(await endpoints.findOwnedForUpdate(ownerOf(actor), id, trx));

  const refuseUnsafeUrl = async (url: string): Promise<void> => {
    const decision = await deps.checkUrl(url);
    if (!decision.ok)
      throw new ValidationError(decision.message, [
        { location: 'body', pointer: '/url', detail: decision.message },
      ]);
  };

  return {
    async create(input, context) {
      await refuseUnsafeUrl(input.url);
      const secret = generateWebhookSecret();
      return context.transaction(async (trx) => {
        const endpoint = await endpoints.create(
          ownerOf(context.actor),
          {
            url: input.url,
            description: input.description ?? null,
            eventTypes: [...new Set(input.event_types)],
            secretSealed: secrets.seal(secret),
            apiVersion: requireSupportedVersion(
              input.api_version ?? context.actor.apiVersion ?? LATEST_API_VERSION,
            ),
          },
          trx,
        );
        await audit.append(
          auditEventFor(context, 'webhook_endpoint.created', 'webhook_endpoint', endpoint.id),
          trx,
        );
        return { ...endpoint, secret };
      });
    },

    async list(actor, query) {
      return keysetPage({
        cursor: query.cursor,
        limit: query.limit,
        fetch: (limitPlusOne, after) => endpoints.list(ownerOf(actor), limitPlusOne, after),
        toModel: WebhookEndpointsRepository.toEndpoint,
      });
    },

    async get(actor, id) {
      return ownedOrMissing(await endpoints.findOwned(ownerOf(actor), id));
    },

    async update(id, patch, ifMatch, context) {
      if (patch.url !== undefined) await refuseUnsafeUrl(patch.url);
      const apiVersion =
        patch.api_version === undefined ? undefined : requireSupportedVersion(patch.api_version);
      return writeIfMatch(context, ifMatch, lockOwned(context.actor, id), async (trx, before) => {
        const endpoint = await endpoints.update(
          id,
          {
            ...(patch.url !== undefined ? { url: patch.url } : {}),
            ...(patch.description !== undefined ? { description: patch.description } : {}),
            ...(patch.event_types !== undefined ? { eventTypes: [...new Set(patch.event_types)] } : {}),
            ...(patch.status !== undefined ? { status: patch.status } : {}),
            ...(apiVersion !== undefined ? { apiVersion } : {}),
          },
          trx,
        );
        await audit.append(
          auditEventFor(
            context,
            'webhook_endpoint.updated',
            'webhook_endpoint',
            id,
            apiVersion !== undefined && apiVersion !== before.api_version
              ? { api_version: apiVersion, previous_api_version: before.api_version }
              : undefined,
          ),
          trx,
        );
        return endpoint;
      });
    },

    async delete(id, ifMatch, context) {
      await writeIfMatch(context, ifMatch, lockOwned(context.actor, id), async (trx) => {
        await endpoints.delete(id, trx);
        await audit.append(auditEventFor(context, 'webhook_endpoint.deleted', 'webhook_endpoint', id), trx);
      });
    },

    rotateSecret(id, ifMatch, context) {
      const secret = generateWebhookSecret();
      return writeIfMatch(context, ifMatch, lockOwned(context.actor, id), async (trx) => {
        const endpoint = await endpoints.rotateSecret(
          id,
          secrets.seal(secret),
          new Date(Date.now() + SECRET_ROTATION_GRACE_MS),
          trx,
        );
        await audit.append(
          auditEventFor(context, 'webhook_endpoint.secret_rotated', 'webhook_endpoint', id),
          trx,
        );
        return { ...endpoint, secret };
      });
    },

    async listDeliveries(actor, id, query) {
      ownedOrMissing(await endpoints.findOwned(ownerOf(actor), id));
      return keysetPage({
        cursor: query.cursor,
        limit: query.limit,
        fetch: (limitPlusOne, after) => events.listDeliveries(id, limitPlusOne, after),
        toModel: WebhookEventsRepository.toDelivery,
      });
    },

    redeliver(id, deliveryId, context) {
      return context.transaction(async (trx) => {
        ownedOrMissing(await endpoints.findOwned(ownerOf(context.actor), id, trx));
        const delivery = await outbox.redeliver(context, id, deliveryId);
        if (!delivery) throw new NotFoundError('No delivery with this id for this endpoint.');
        return delivery;
      });
    },

    sendTestEvent(id, context) {
      return context.transaction(async (trx) => {
        ownedOrMissing(await endpoints.findOwned(ownerOf(context.actor), id, trx));
        return outbox.recordFor(
          context,
          id,
          {
            type: 'webhook.test',
            resourceType: 'webhook_endpoint',
            resourceId: id,
            data: { endpoint_id: id, message: 'A test event, sent on request.' },
          },
          ownerOf(context.actor),
        );
      });
    },

    recover(id, input, context) {
      const since = toDatabaseInstant(input.since);
      if (since < keptSince(now(), deps.eventsRetentionDays)) {
        const detail = `must be within the last ${deps.eventsRetentionDays} days (events are kept no longer)`;
        throw new ValidationError(`since ${detail}.`, [{ location: 'body', pointer: '/since', detail }]);
      }
      return context.transaction(async (trx) => {
        // The row lock serialises recoveries of one endpoint (see WebhookEventsRepository.recover).
        ownedOrMissing(await endpoints.findOwnedForUpdate(ownerOf(context.actor), id, trx));
        const { queued, found } = await outbox.recover(context, id, since);
        await audit.append(
          auditEventFor(context, 'webhook_endpoint.recovered', 'webhook_endpoint', id, { since, queued }),
          trx,
        );
        return { endpoint_id: id, since, queued, more: found > queued };
      });
    },
  };
}
