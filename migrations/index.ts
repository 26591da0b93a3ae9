import type { Knex } from 'knex';
import * as extensions from './20261123000000_extensions';
import * as identity from './20261123000100_identity';
import * as itemsAuditIdempotency from './20261123000200_items_audit_idempotency';
import * as auditSecurityEvents from './20261130000000_audit_security_events';
import * as userClientVersions from './20261130000100_user_client_versions';
import * as idempotencyKeysSealed from './20261130000200_idempotency_keys_sealed';
import * as webhooks from './20261130000300_webhooks';
import * as webhookDeliveriesFairClaim from './20261207000000_webhook_deliveries_fair_claim';
import * as clientPrivateKeyJwt from './20261207000100_client_private_key_jwt';
import * as apiKeys from './20261207000200_api_keys';
import * as apiVersionPins from './20261207000300_api_version_pins';
import * as eventsApiRequestLogs from './20261207000400_events_api_request_logs';

/** Every migration in the order it runs. Names are recorded in knex_migrations: never rename one. */
export const MIGRATIONS: ReadonlyArray<readonly [string, Knex.Migration]> = [
  ['20261123000000_extensions', extensions],
  ['20261123000100_identity', identity],
  ['20261123000200_items_audit_idempotency', itemsAuditIdempotency],
  ['20261130000000_audit_security_events', auditSecurityEvents],
  ['20261130000100_user_client_versions', userClientVersions],
  ['20261130000200_idempotency_keys_sealed', idempotencyKeysSealed],
  ['20261130000300_webhooks', webhooks],
  ['20261207000000_webhook_deliveries_fair_claim', webhookDeliveriesFairClaim],
  ['20261207000100_client_private_key_jwt', clientPrivateKeyJwt],
  ['20261207000200_api_keys', apiKeys],
  ['20261207000300_api_version_pins', apiVersionPins],
  ['20261207000400_events_api_request_logs', eventsApiRequestLogs],
];
