import type { HealthService } from '../services/health.service';
import type { HandlerMap } from '../dependencies/handler-map';

export function createHealthHandlers(deps: {
  health: HealthService;
}): Pick<HandlerMap, 'getLiveness' | 'getReadiness'> {
  return {
    getLiveness: () => ({ status: 200, body: { status: 'ok' } }),
    getReadiness: async () => ({
      status: 200,
      body: { status: 'ok', checks: await deps.health.checkReadiness() },
    }),
  };
}
