import type { components } from '../../generated/api';
import type { OperationQuery } from './operation-query';

export type WebhookEndpoint = components['schemas']['WebhookEndpoint'];
export type WebhookEndpointWithSecret = components['schemas']['WebhookEndpointWithSecret'];
export type CreateWebhookEndpointInput = components['schemas']['CreateWebhookEndpointRequest'];
export type WebhookEndpointMergePatch = components['schemas']['WebhookEndpointMergePatch'];
export type WebhookDelivery = components['schemas']['WebhookDelivery'];
export type WebhookEventType = components['schemas']['WebhookEventType'];
export type WebhookEndpointListQuery = OperationQuery<'listWebhookEndpoints'>;
export type WebhookDeliveryListQuery = OperationQuery<'listWebhookDeliveries'>;
export type RecoverWebhookEndpointInput = components['schemas']['RecoverWebhookEndpointRequest'];
export type WebhookRecovery = components['schemas']['WebhookRecovery'];

/** Every event the API sends, by type: the payloads the spec's `webhooks` section declares. */
export interface WebhookEventPayloads {
  'item.created': components['schemas']['ItemCreatedEvent'];
  'item.updated': components['schemas']['ItemUpdatedEvent'];
  'item.deleted': components['schemas']['ItemDeletedEvent'];
  'user.created': components['schemas']['UserCreatedEvent'];
  'user.updated': components['schemas']['UserUpdatedEvent'];
  'user.deleted': components['schemas']['UserDeletedEvent'];
  'client.created': components['schemas']['ClientCreatedEvent'];
  'client.secret_rotated': components['schemas']['ClientSecretRotatedEvent'];
  'client.deleted': components['schemas']['ClientDeletedEvent'];
  'api_key.created': components['schemas']['ApiKeyCreatedEvent'];
  'api_key.rotated': components['schemas']['ApiKeyRotatedEvent'];
  'api_key.revoked': components['schemas']['ApiKeyRevokedEvent'];
  'webhook.test': components['schemas']['WebhookTestEvent'];
  'webhook_endpoint.disabled': components['schemas']['WebhookEndpointDisabledEvent'];
}
export type WebhookEventName = keyof WebhookEventPayloads;
