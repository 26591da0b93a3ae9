import type { AuditService } from '../services/audit.service';
import type { HandlerMap } from '../dependencies/handler-map';

export function createAuditHandlers(deps: { audit: AuditService }): Pick<HandlerMap, 'listAuditEvents'> {
  return {
    listAuditEvents: async (req) => ({ status: 200, body: await deps.audit.list(req.query) }),
  };
}
