import { requirePrincipal } from '../dependencies/authenticator';
import type { WebhookEndpointsService } from '../services/webhook-endpoints.service';
import { versioned } from './conditional-get';
import { created, updated, NO_STORE } from './versioned-write';
import type { HandlerMap } from '../dependencies/handler-map';

export function createWebhookEndpointsHandlers(deps: {
  webhookEndpoints: WebhookEndpointsService;
}): Pick<
  HandlerMap,
  | 'createWebhookEndpoint'
  | 'listWebhookEndpoints'
  | 'getWebhookEndpoint'
  | 'updateWebhookEndpoint'
  | 'deleteWebhookEndpoint'
  | 'rotateWebhookEndpointSecret'
  | 'listWebhookDeliveries'
  | 'redeliverWebhookDelivery'
  | 'sendWebhookTestEvent'
  | 'recoverWebhookEndpoint'
> {
  const { webhookEndpoints: endpoints } = deps;
  return {
    createWebhookEndpoint: async (req, context) => {
      const endpoint = await endpoints.create(req.body, context.writeContext());
      return created(endpoint, `/v1/webhook-endpoints/${endpoint.id}`, NO_STORE);
    },
    listWebhookEndpoints: async (req) => ({
      status: 200,
      body: await endpoints.list(requirePrincipal(req), req.query),
    }),
    getWebhookEndpoint: async (req) =>
      versioned(req, await endpoints.get(requirePrincipal(req), req.params.endpoint_id)),
    updateWebhookEndpoint: async (req, context) => {
      const endpoint = await endpoints.update(
        req.params.endpoint_id,
        req.body,
        req.get('If-Match'),
        context.writeContext(),
      );
      return updated(endpoint);
    },
    deleteWebhookEndpoint: async (req, context) => {
      await endpoints.delete(req.params.endpoint_id, req.get('If-Match'), context.writeContext());
      return { status: 204 };
    },
    rotateWebhookEndpointSecret: async (req, context) => {
      const endpoint = await endpoints.rotateSecret(
        req.params.endpoint_id,
        req.get('If-Match'),
        context.writeContext(),
      );
      return updated(endpoint, NO_STORE);
    },
    listWebhookDeliveries: async (req) => ({
      status: 200,
      body: await endpoints.listDeliveries(requirePrincipal(req), req.params.endpoint_id, req.query),
    }),
    redeliverWebhookDelivery: async (req, context) => ({
      status: 202,
      body: await endpoints.redeliver(req.params.endpoint_id, req.params.delivery_id, context.writeContext()),
    }),
    sendWebhookTestEvent: async (req, context) => ({
      status: 202,
      body: await endpoints.sendTestEvent(req.params.endpoint_id, context.writeContext()),
    }),
    recoverWebhookEndpoint: async (req, context) => ({
      status: 202,
      body: await endpoints.recover(req.params.endpoint_id, req.body, context.writeContext()),
    }),
  };
}
