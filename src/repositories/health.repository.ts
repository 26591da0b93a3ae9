import type { Database } from '../infrastructure/database';

export class HealthRepository {
  constructor(private readonly deps: { db: Database }) {}

  async ping(): Promise<void> {
    await this.deps.db.raw('select 1');
  }
}
