import type { Knex } from 'knex';
import type { AuditRepository } from '../repositories/audit.repository';
import type { WebhookEndpointsRepository } from '../repositories/webhook-endpoints.repository';
import type { WebhookEventsRepository } from '../repositories/webhook-events.repository';

/**
 * An endpoint disabled for failing is never disabled silently: in the transaction that disabled it, a
 * `webhook_endpoint.disabled` event (listed by the events API, delivered to the owner's other enabled
 * endpoints) and an audit row by the API itself (`actor_type: system`, the request id being the delivery
 * whose failure tipped it). Returns how many deliveries the notice queued.
 */
export async function announceEndpointDisabled(
  deps: {
    webhookEndpoints: Pick<WebhookEndpointsRepository, 'findWithOwner'>;
    webhookEvents: Pick<WebhookEventsRepository, 'recordNotice'>;
    audit: Pick<AuditRepository, 'append'>;
  },
  endpointId: string,
  deliveryId: string,
  trx: Knex.Transaction,
): Promise<number> {
  const found = await deps.webhookEndpoints.findWithOwner(endpointId, trx);
  if (!found) return 0;
  const queued = await deps.webhookEvents.recordNotice(
    {
      type: 'webhook_endpoint.disabled',
      resourceType: 'webhook_endpoint',
      resourceId: endpointId,
      data: found.endpoint,
    },
    found.owner,
    endpointId,
    trx,
  );
  await deps.audit.append(
    {
      actor_type: 'system',
      actor_id: null,
      action: 'webhook_endpoint.disabled',
      resource_type: 'webhook_endpoint',
      resource_id: endpointId,
      request_id: deliveryId,
    },
    trx,
  );
  return queued;
}
