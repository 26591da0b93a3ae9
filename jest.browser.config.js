/**
 * `make test-browser`: the docs portal in headless Chromium (tests/browser/*.browser.ts). Kept out of
 * `make test` because it needs a browser and the built portal; CI runs it as its own stage.
 * @type {import('jest').Config}
 */
module.exports = {
  ...require('./jest.config.js'),
  roots: ['<rootDir>/tests/browser'],
  testMatch: ['**/*.browser.ts'],
  testTimeout: 60000,
  maxWorkers: 1,
};
