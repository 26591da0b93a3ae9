import { requirePrincipal } from '../dependencies/authenticator';
import type { HandlerMap } from '../dependencies/handler-map';
import type { RequestLogsService } from '../services/request-logs.service';

export function createRequestLogsHandlers(deps: {
  requestLogs: RequestLogsService;
}): Pick<HandlerMap, 'listRequestLogs'> {
  return {
    listRequestLogs: async (req) => ({
      status: 200,
      body: await deps.requestLogs.list(requirePrincipal(req), req.query),
    }),
  };
}
