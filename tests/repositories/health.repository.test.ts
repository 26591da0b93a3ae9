import { createPgKnex } from '../../src/infrastructure/database';
import type { DatabaseHandle } from '../../src/infrastructure/database';
import { HealthRepository } from '../../src/repositories/health.repository';
import { createTestDatabase } from '../support/test-database';

describe('HealthRepository', () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  it('when the database answers, then ping resolves', async () => {
    await expect(new HealthRepository({ db: database.db }).ping()).resolves.toBeUndefined();
  });

  it('when nothing listens where the database should be, then ping rejects instead of hanging', async () => {
    const unreachable = createPgKnex({
      url: 'postgres://nobody@127.0.0.1:1/none',
      poolMin: 0,
      poolMax: 1,
      statementTimeoutMs: 1000,
      acquireTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      queryTimeoutMs: 1000,
    });
    // knex's pool prints each failed connection attempt; this one is expected.
    const quiet = jest.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await expect(new HealthRepository({ db: unreachable }).ping()).rejects.toBeDefined();
    } finally {
      quiet.mockRestore();
      await unreachable.destroy();
    }
  });
});
