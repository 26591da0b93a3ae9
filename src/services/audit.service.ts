import { createHash } from 'node:crypto';
import type { OperationQuery } from '../models/operation-query';
import { AuditRepository, type AuditEvent, type AuditFilters } from '../repositories/audit.repository';
import type { Page } from '../utils/cursor';
import { keysetPage } from '../utils/keyset-page';
import { toDatabaseInstant } from '../utils/instant';

export type AuditListQuery = OperationQuery<'listAuditEvents'>;

export interface AuditService {
  list(query: AuditListQuery): Promise<Page<AuditEvent>>;
}

function filtersOf(query: AuditListQuery): AuditFilters {
  return {
    ...(query.action ? { actions: [...new Set(query.action)].sort() } : {}),
    ...(query.actor_type ? { actorType: query.actor_type } : {}),
    ...(query.actor_id ? { actorId: query.actor_id } : {}),
    ...(query.resource_type ? { resourceType: query.resource_type } : {}),
    ...(query.resource_id ? { resourceId: query.resource_id } : {}),
    ...(query.occurred_after ? { occurredAfter: toDatabaseInstant(query.occurred_after) } : {}),
    ...(query.occurred_before ? { occurredBefore: toDatabaseInstant(query.occurred_before) } : {}),
  };
}

/**
 * A cursor names the filters it was issued for (a digest of them, in a fixed order), so it is only ever
 * read with those: the same position under other filters would silently skip or repeat events.
 */
function fingerprint(filters: AuditFilters): string {
  const canonical = JSON.stringify(Object.entries(filters).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

export function createAuditService(deps: { audit: AuditRepository }): AuditService {
  return {
    async list(query) {
      const filters = filtersOf(query);
      return keysetPage({
        cursor: query.cursor,
        limit: query.limit,
        boundTo: fingerprint(filters),
        fetch: (limitPlusOne, before) => deps.audit.list(filters, limitPlusOne, before),
        toModel: AuditRepository.toEvent,
      });
    },
  };
}
