import type { components } from '../../generated/api';
import type { OperationQuery } from './operation-query';

/** An event as a webhook carries it and as `GET /v1/events` lists it. */
export type EventEnvelope = components['schemas']['EventEnvelope'];
export type EventType = components['schemas']['EventType'];
export type EventListQuery = OperationQuery<'listEvents'>;

/** An event as the outbox keeps it: the envelope as it was recorded, in the version it was recorded at. */
export interface StoredEvent {
  payload: unknown;
}

/**
 * The one place an event becomes what leaves the API, for a webhook delivery and for the events API alike:
 * today the envelope exactly as recorded. Rendering at the caller's API version belongs here, so a webhook
 * and the list can never disagree.
 */
export function renderEventPayload(event: StoredEvent): EventEnvelope {
  return event.payload as EventEnvelope;
}
