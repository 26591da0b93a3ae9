import type { Logger } from 'pino';
import type { WebhooksConfig } from '../internal/config';
import { loadOpenApiDocument } from '../internal/openapi-document';
import { AuditRepository } from '../repositories/audit.repository';
import { WebhookDeliveriesRepository } from '../repositories/webhook-deliveries.repository';
import { WebhookEndpointsRepository } from '../repositories/webhook-endpoints.repository';
import { WebhookEventsRepository } from '../repositories/webhook-events.repository';
import { announceEndpointDisabled } from './endpoint-disabled-notice';
import { createDeliveryMetrics } from './delivery-metrics';
import { createDeliveryWorker, type DeliveryWorker, type DeliveryWorkerDeps } from './delivery-worker';
import { createVersionedPayloadValidator } from './payload-validator';
import { loadApiVersions } from '../versions/api-versions';
import { createVersionTranslator } from '../versions/translator';
import type { webhooks } from '../../generated/api';
import { DEFAULT_RETRY_POLICY } from './retry-schedule';
import type { SecretBox } from './secret-box';
import { createWebhookSender } from './webhook-sender';
import type { Database } from '../infrastructure/database';
import { withUnitOfWork } from '../infrastructure/unit-of-work';
import type { Metrics } from '../infrastructure/metrics';

/**
 * The deliveries repository as the worker uses it: a failure, with the endpoint it may disable, is recorded
 * in a unit of work of its own; every other step is one statement.
 */
export function deliveryQueue(
  db: Database,
  repository: WebhookDeliveriesRepository,
): DeliveryWorkerDeps['repository'] {
  const notice = {
    webhookEndpoints: new WebhookEndpointsRepository({ db }),
    webhookEvents: new WebhookEventsRepository({ db }),
    audit: new AuditRepository({ db }),
  };
  return {
    claimDue: (...args) => repository.claimDue(...args),
    recordSuccess: (...args) => repository.recordSuccess(...args),
    recordUnsendable: (...args) => repository.recordUnsendable(...args),
    release: (...args) => repository.release(...args),
    // The failure, the endpoint it disables, and the notice of it commit together or not at all.
    recordFailure: (id, result, next, now) =>
      withUnitOfWork(db, (unit) =>
        unit.transaction(async (trx) => {
          const outcome = await repository.recordFailure(id, result, next, now, trx);
          if (outcome.endpointDisabled && outcome.endpointId)
            await announceEndpointDisabled(notice, outcome.endpointId, id, trx);
          return outcome;
        }),
      ),
  };
}

/**
 * The delivery worker as configured: the outbox's deliveries, signed with the endpoints' secrets (opened
 * with the same box that sealed them), each payload checked against the spec's `webhooks` before it leaves.
 */
export function createWebhookDelivery(deps: {
  config: WebhooksConfig;
  db: Database;
  logger: Logger;
  metrics: Metrics;
  secrets: SecretBox;
}): DeliveryWorker {
  const { config, db, logger } = deps;
  const versions = loadApiVersions();
  const translator = createVersionTranslator(versions);
  // Its own copies of the specs: the request validator changes the document it is given.
  const validateAtVersion = createVersionedPayloadValidator({
    latest: versions.latest,
    documentOf: (version) =>
      version === versions.latest ? loadOpenApiDocument() : versions.documentOf(version),
  });
  const repository = new WebhookDeliveriesRepository({
    db,
    disableAfterMs: config.disableAfterSeconds * 1000,
    endpointConcurrency: config.endpointConcurrency,
  });
  return createDeliveryWorker({
    repository: deliveryQueue(db, repository),
    send: createWebhookSender({
      timeoutMs: config.deliveryTimeoutMs,
      policy: { allowLoopbackHttp: config.allowLoopbackHttp },
    }),
    openSecret: (sealed) => deps.secrets.open(sealed),
    // An endpoint pinned to a retired version is served at the oldest supported one.
    validatePayload: (eventType, payload, apiVersion = versions.latest) =>
      validateAtVersion(eventType, payload, versions.servedAt(apiVersion)),
    renderPayload: (eventType, payload, apiVersion) =>
      translator.webhookDown(versions.servedAt(apiVersion), eventType as keyof webhooks, payload),
    logger: logger.child({ component: 'webhook-delivery' }),
    retryPolicy: { ...DEFAULT_RETRY_POLICY, givingUpAfterMs: config.retryPeriodSeconds * 1000 },
    pollIntervalMs: config.pollIntervalMs,
    // A claim must outlast an attempt and its recording.
    leaseMs: config.deliveryTimeoutMs * 3,
    metrics: createDeliveryMetrics(deps.metrics.registry, () => repository.countPending()),
  });
}
