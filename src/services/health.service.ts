import type { HealthRepository } from '../repositories/health.repository';
import { ServiceUnavailableError } from '../utils/errors';

export interface HealthService {
  checkReadiness(): Promise<{ database: 'ok' }>;
}

export function createHealthService(deps: { health: HealthRepository }): HealthService {
  return {
    async checkReadiness() {
      try {
        await deps.health.ping();
      } catch (cause) {
        throw new ServiceUnavailableError('The database is not answering.', { cause });
      }
      return { database: 'ok' };
    },
  };
}
