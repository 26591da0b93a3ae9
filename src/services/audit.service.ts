import { createHash } from 'node:crypto';
import type { OperationQuery } from '../models/operation-query';
import { AuditRepository, type AuditEvent, type AuditFilters } from '../repositories/audit.repository';
import { cursorValue, decodeCursor, toPage, type Page } from '../utils/cursor';
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
      const filtered = fingerprint(filters);
      let before: [string, string] | undefined;
      if (query.cursor) {
        const sameFilters = (value: string) => value === filtered;
        const [, occurredAt, id] = decodeCursor(query.cursor, [
          sameFilters,
          cursorValue.timestamp,
          cursorValue.uuid,
        ]);
        before = [occurredAt!, id!];
      }
      const rows = await deps.audit.list(filters, query.limit + 1, before);
      return toPage(rows, query.limit, AuditRepository.toEvent, (row) => [
        filtered,
        row.cursor_occurred_at,
        row.id,
      ]);
    },
  };
}
