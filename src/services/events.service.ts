import { renderEventPayload, type EventEnvelope, type EventListQuery } from '../models/event';
import type { Principal } from '../models/principal';
import type { EventsRepository } from '../repositories/events.repository';
import { type EventFilters } from '../repositories/events.repository';
import { audienceKey } from '../repositories/webhook-events.repository';
import type { Page } from '../utils/cursor';
import { NotFoundError } from '../utils/errors';
import { toDatabaseInstant } from '../utils/instant';
import { keysetPage } from '../utils/keyset-page';
import { filtersFingerprint, keptSince } from './list-filters';

export interface EventsService {
  list(actor: Principal, query: EventListQuery): Promise<Page<EventEnvelope>>;
  get(actor: Principal, id: string): Promise<EventEnvelope>;
}

/**
 * The audiences a caller belongs to: the same rule that chose the endpoints an event was delivered to
 * (src/repositories/webhook-events.repository.ts), so the list shows what the caller's webhooks were sent.
 * An administrator also reads the events of users and clients that go to administrators.
 */
export function audiencesOf(actor: Principal): string[] {
  if (actor.kind === 'client') return [audienceKey({ clientId: actor.id })];
  const own = audienceKey({ userId: actor.id });
  return actor.role === 'admin' ? [own, audienceKey('administrators')] : [own];
}

export function createEventsService(deps: {
  events: EventsRepository;
  retentionDays: number;
  now?: () => Date;
}): EventsService {
  const now = deps.now ?? (() => new Date());
  return {
    async list(actor, query) {
      const filters: Omit<EventFilters, 'audiences'> = {
        ...(query.type ? { types: [...new Set(query.type)].sort() } : {}),
        ...(query.occurred_after ? { occurredAfter: toDatabaseInstant(query.occurred_after) } : {}),
        ...(query.occurred_before ? { occurredBefore: toDatabaseInstant(query.occurred_before) } : {}),
      };
      const since = keptSince(now(), deps.retentionDays);
      return keysetPage({
        cursor: query.cursor,
        limit: query.limit,
        boundTo: filtersFingerprint(filters),
        fetch: (limitPlusOne, after) =>
          deps.events.list({ ...filters, audiences: audiencesOf(actor) }, since, limitPlusOne, after),
        toModel: renderEventPayload,
      });
    },

    async get(actor, id) {
      const event = await deps.events.find(id, audiencesOf(actor), keptSince(now(), deps.retentionDays));
      // Someone else's event answers exactly like a missing one.
      if (!event) throw new NotFoundError('No event with this id.');
      return renderEventPayload(event);
    },
  };
}
