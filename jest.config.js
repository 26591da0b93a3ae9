const { availableParallelism } = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment whose hang guard is counted in the machine's time (tests/support/busy-machine-environment.ts).
  testEnvironment: '<rootDir>/tests/support/busy-machine-environment.ts',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // jose is ESM-only; let swc turn it into CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  globalSetup: '<rootDir>/tests/support/global-setup.ts',
  globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
  // A guard against a hang, not a budget: on idle cores no test or hook comes near it (the process tests,
  // which start real processes, set their own). It is stretched by how busy the cores are when each starts.
  testTimeout: 30000,
  // One worker per core: the files are CPU-bound (PGlite is WebAssembly on the worker's own thread), and the
  // parent process only hands out files and collects results.
  maxWorkers: availableParallelism(),
};
