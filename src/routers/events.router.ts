import { requirePrincipal } from '../dependencies/authenticator';
import type { HandlerMap } from '../dependencies/handler-map';
import type { EventsService } from '../services/events.service';
import { etagOf, ifNoneMatchSatisfied } from '../utils/etag';

/** An event never changes once recorded: one representation, one ETag (a rendering per version would add its own). */
const EVENT_REPRESENTATION = 1;

export function createEventsHandlers(deps: {
  events: EventsService;
}): Pick<HandlerMap, 'listEvents' | 'getEvent'> {
  return {
    listEvents: async (req) => ({
      status: 200,
      body: await deps.events.list(requirePrincipal(req), req.query),
    }),
    getEvent: async (req) => {
      const event = await deps.events.get(requirePrincipal(req), req.params.event_id);
      const headers = { ETag: etagOf(EVENT_REPRESENTATION) };
      if (ifNoneMatchSatisfied(req.get('If-None-Match'), EVENT_REPRESENTATION))
        return { status: 304, headers };
      return { status: 200, headers, body: event };
    },
  };
}
