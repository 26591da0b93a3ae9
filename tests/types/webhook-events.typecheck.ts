/**
 * Compile-time checks, run by `make typecheck` (tsc over tests/), not by jest: the SDK's event types are read
 * from the generated `webhooks` interface, so they must name every event of the spec, each by its `type`.
 */
import type { components, webhooks } from '../../generated/api';
import type { WebhookEvent, WebhookEventOf, WebhookEvents } from '../../sdk';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Schemas = components['schemas'];

export const itemCreatedIsItsSchema: Equal<
  WebhookEventOf<'item.created'>,
  Schemas['ItemCreatedEvent']
> = true;
export const testEventIsItsSchema: Equal<WebhookEventOf<'webhook.test'>, Schemas['WebhookTestEvent']> = true;

// Every webhook of the spec is in the union (the subscribable types, the test event and the notice of an
// endpoint disabled for failing, which reach an endpoint whatever it subscribes to), none is `never`.
export const everyType: Equal<
  WebhookEvent['type'],
  Schemas['WebhookEventType'] | 'webhook.test' | 'webhook_endpoint.disabled'
> = true;
export const everyWebhook: Equal<WebhookEvent['type'], keyof webhooks> = true;

// Each webhook carries the event named after it, so a lookup by `type` and one by webhook name agree.
export const namedAfterTheirType: Equal<
  { [Name in keyof WebhookEvents]: WebhookEvents[Name]['type'] },
  { [Name in keyof webhooks]: Name }
> = true;

// @ts-expect-error only the spec's event types can be looked up
export type NoSuchEvent = WebhookEventOf<'item.exploded'>;

/** `switch (event.type)` narrows `data` to the event's own schema. */
export function resourceIdOf(event: WebhookEvent): string | undefined {
  switch (event.type) {
    case 'item.created':
    case 'item.deleted':
      return event.data.id;
    default:
      return undefined;
  }
}
