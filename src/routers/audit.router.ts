import type { AuditService } from '../services/audit.service';
import type { HandlerMap } from './handler-map';

export function createAuditHandlers(deps: { audit: AuditService }): Pick<HandlerMap, 'listAuditEvents'> {
  return {
    listAuditEvents: async (req, res) => {
      res.json(await deps.audit.list(req.query));
    },
  };
}
