import { isAdministrator, type Principal } from '../models/principal';
import type { RequestLogEntry, RequestLogListQuery } from '../models/request-log';
import { RequestLogsRepository, type RequestLogFilters } from '../repositories/request-logs.repository';
import type { Page } from '../utils/cursor';
import { ForbiddenError } from '../utils/errors';
import { toDatabaseInstant } from '../utils/instant';
import { keysetPage } from '../utils/keyset-page';
import { filtersFingerprint, keptSince } from './list-filters';

export interface RequestLogsService {
  list(actor: Principal, query: RequestLogListQuery): Promise<Page<RequestLogEntry>>;
}

const STATUS_CLASSES = {
  '2xx': [200, 300],
  '3xx': [300, 400],
  '4xx': [400, 500],
  '5xx': [500, 600],
} as const;

export function createRequestLogsService(deps: {
  requestLogs: RequestLogsRepository;
  retentionDays: number;
  now?: () => Date;
}): RequestLogsService {
  const now = deps.now ?? (() => new Date());
  return {
    async list(actor, query) {
      // Everyone sees their own requests; only an administrator may name someone else, or no one (everyone).
      if (!isAdministrator(actor) && query.caller_id !== undefined && query.caller_id !== actor.id)
        throw new ForbiddenError("Only administrators may read another caller's requests.");
      const callerId = isAdministrator(actor) ? query.caller_id : actor.id;
      const filters: RequestLogFilters = {
        ...(callerId ? { callerId } : {}),
        ...(query.status_class ? { status: STATUS_CLASSES[query.status_class] } : {}),
        ...(query.operation_id ? { operationId: query.operation_id } : {}),
        ...(query.occurred_after ? { occurredAfter: toDatabaseInstant(query.occurred_after) } : {}),
        ...(query.occurred_before ? { occurredBefore: toDatabaseInstant(query.occurred_before) } : {}),
      };
      const since = keptSince(now(), deps.retentionDays);
      return keysetPage({
        cursor: query.cursor,
        limit: query.limit,
        boundTo: filtersFingerprint(filters),
        fetch: (limitPlusOne, after) => deps.requestLogs.list(filters, since, limitPlusOne, after),
        toModel: RequestLogsRepository.toEntry,
      });
    },
  };
}
