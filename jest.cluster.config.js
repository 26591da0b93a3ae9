/**
 * `make test-cluster`: three real instances of the API behind a round-robin proxy on one PostgreSQL and one
 * Redis (tests/cluster/*.cluster.ts). Each file creates its own empty database, so the template of the
 * main suite's global setup is not needed. Needs DATABASE_URL and REDIS_URL; CI runs it as its own stage.
 * @type {import('jest').Config}
 */
module.exports = {
  ...require('./jest.config.js'),
  roots: ['<rootDir>/tests/cluster'],
  testMatch: ['**/*.cluster.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
  // Three processes start per file on a machine that may be busy; this only guards against a hang.
  testTimeout: 180000,
  maxWorkers: 1,
};
