import { AuditRepository, type AuditEvent } from '../repositories/audit.repository';
import { cursorValue, decodeCursor, toPage, type Page } from '../utils/cursor';

export interface AuditService {
  list(limit: number, cursor: string | undefined): Promise<Page<AuditEvent>>;
}

export function createAuditService(deps: { audit: AuditRepository }): AuditService {
  return {
    async list(limit, cursor) {
      const before = cursor
        ? (decodeCursor(cursor, [cursorValue.timestamp, cursorValue.uuid]) as [string, string])
        : undefined;
      const rows = await deps.audit.list(limit + 1, before);
      return toPage(rows, limit, AuditRepository.toEvent, (row) => [row.cursor_occurred_at, row.id]);
    },
  };
}
