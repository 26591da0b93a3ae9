// The production build serving a spec padded with SPEC_PADDING extra operations (default 200), each
// with its own path sorting before /v1/users/*, to show what the spec's size costs per request.
// Started by bench.ts exactly like dist/src/main.js, with the same environment.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createApp } = require('../../dist/src/app.js');
const { openDatabase } = require('../../dist/src/infrastructure/database.js');
const { loadSigningKeys } = require('../../dist/src/infrastructure/signing-keys.js');
const { loadConfig } = require('../../dist/src/internal/config.js');
const { createLifecycle } = require('../../dist/src/internal/lifecycle.js');
const { createLogger } = require('../../dist/src/internal/logger.js');
const { loadOpenApiDocument } = require('../../dist/src/internal/openapi-document.js');
const { startServer } = require('../../dist/src/server.js');

const padding = Number(process.env.SPEC_PADDING ?? 200);
const document = loadOpenApiDocument();
const handlerOverrides = {};
const padded = {};
for (let n = 0; n < padding; n += 1) {
  const operationId = `padding${n}`;
  padded[`/v1/padding-${String(n).padStart(4, '0')}/{thing_id}`] = {
    get: {
      operationId,
      summary: 'Padding',
      security: [{ bearerAuth: ['profile'] }],
      parameters: [{ name: 'thing_id', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        200: { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
      },
    },
  };
  handlerOverrides[operationId] = () => ({ status: 200, body: {} });
}
document.paths = { ...padded, ...document.paths };

const config = loadConfig();
const logger = createLogger(config);
const database = await openDatabase(config.database, logger);
const signingKeys = loadSigningKeys(config.auth, logger);
const lifecycle = createLifecycle();
const app = createApp({
  config,
  logger,
  db: database.db,
  signingKeys,
  document,
  handlerOverrides,
  lifecycle,
});
const running = await startServer(app, config, logger, lifecycle);
logger.info({ padding }, `padded spec: ${padding} extra operations`);
process.on(
  'SIGTERM',
  () =>
    void running
      .stop()
      .then(() => database.close())
      .then(() => process.exit(0)),
);
