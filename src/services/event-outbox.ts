import type { UnitOfWork } from '../infrastructure/unit-of-work';
import type { ResourceOwner } from '../models/owner';
import type { WebhookDelivery, WebhookEventName } from '../models/webhook';
import type { NewAuditEvent } from '../repositories/audit.repository';
import type {
  NewWebhookEvent,
  WebhookAudience,
  WebhookEventsRepository,
} from '../repositories/webhook-events.repository';

/**
 * Webhook events written in the write's own transaction (the outbox), each with its deliveries. When a
 * write queued a delivery, the delivery worker is told once the transaction has committed, so the event
 * leaves at once instead of at the worker's next poll; a write that rolls back tells nobody.
 */
export interface EventOutbox {
  /** With `audit`, the change's audit row is written by the same statement as the event. */
  record<Type extends WebhookEventName>(
    unit: UnitOfWork,
    event: NewWebhookEvent<Type>,
    audience: WebhookAudience,
    audit?: NewAuditEvent,
  ): Promise<void>;
  recordMany<Type extends WebhookEventName>(
    unit: UnitOfWork,
    events: ReadonlyArray<NewWebhookEvent<Type>>,
    audience: WebhookAudience,
  ): Promise<void>;
  /** An event for one endpoint only, whatever it subscribes to (the test event). */
  recordFor<Type extends WebhookEventName>(
    unit: UnitOfWork,
    endpointId: string,
    event: NewWebhookEvent<Type>,
    owner: ResourceOwner,
  ): Promise<WebhookDelivery>;
  /** The delivery's event queued again for its endpoint; undefined when the endpoint has no such delivery. */
  redeliver(unit: UnitOfWork, endpointId: string, deliveryId: string): Promise<WebhookDelivery | undefined>;
  /** The endpoint's missed events since `since` queued again (see WebhookEventsRepository.recover). */
  recover(unit: UnitOfWork, endpointId: string, since: string): Promise<{ queued: number; found: number }>;
}

export function createEventOutbox(deps: {
  webhookEvents: WebhookEventsRepository;
  /** Wakes the delivery worker; nothing to wake where none runs (the CLI). */
  onDeliveriesQueued?: () => void;
}): EventOutbox {
  const { webhookEvents: events, onDeliveriesQueued } = deps;
  const queued = (unit: UnitOfWork, count: number) => {
    if (count > 0 && onDeliveriesQueued) unit.afterCommit(onDeliveriesQueued);
  };
  return {
    async record(unit, event, audience, audit) {
      queued(unit, await unit.transaction((trx) => events.record(event, audience, trx, audit)));
    },
    async recordMany(unit, list, audience) {
      queued(unit, await unit.transaction((trx) => events.recordMany(list, audience, trx)));
    },
    async recordFor(unit, endpointId, event, owner) {
      const delivery = await unit.transaction((trx) => events.recordFor(endpointId, event, owner, trx));
      queued(unit, 1);
      return delivery;
    },
    async redeliver(unit, endpointId, deliveryId) {
      const delivery = await unit.transaction((trx) => events.redeliver(endpointId, deliveryId, trx));
      queued(unit, delivery ? 1 : 0);
      return delivery;
    },
    async recover(unit, endpointId, since) {
      const outcome = await unit.transaction((trx) => events.recover(endpointId, since, trx));
      queued(unit, outcome.queued);
      return outcome;
    },
  };
}
