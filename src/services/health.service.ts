import type { Lifecycle } from '../internal/lifecycle';
import type { HealthRepository } from '../repositories/health.repository';
import { ServiceUnavailableError } from '../utils/errors';

export interface HealthService {
  checkReadiness(): Promise<{ database: 'ok' }>;
}

export function createHealthService(deps: { health: HealthRepository; lifecycle: Lifecycle }): HealthService {
  return {
    async checkReadiness() {
      if (deps.lifecycle.draining) throw new ServiceUnavailableError('The instance is shutting down.');
      try {
        await deps.health.ping();
      } catch (cause) {
        throw new ServiceUnavailableError('The database is not answering.', { cause });
      }
      return { database: 'ok' };
    },
  };
}
