import type { HealthService } from '../services/health.service';
import type { HandlerMap } from './handler-map';

export function createHealthHandlers(deps: {
  health: HealthService;
}): Pick<HandlerMap, 'getLiveness' | 'getReadiness'> {
  return {
    getLiveness: (_req, res) => {
      res.json({ status: 'ok' });
    },
    getReadiness: async (_req, res) => {
      const checks = await deps.health.checkReadiness();
      res.json({ status: 'ok', checks });
    },
  };
}
