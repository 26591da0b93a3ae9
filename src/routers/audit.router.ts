import type { AuditService } from '../services/audit.service';
import { DEFAULT_PAGE_SIZE } from '../utils/cursor';
import type { HandlerMap } from './handler-map';

export function createAuditHandlers(deps: { audit: AuditService }): Pick<HandlerMap, 'listAuditEvents'> {
  return {
    listAuditEvents: async (req, res) => {
      res.json(await deps.audit.list({ ...req.query, limit: req.query.limit ?? DEFAULT_PAGE_SIZE }));
    },
  };
}
