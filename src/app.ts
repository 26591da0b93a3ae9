import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Database } from './dependencies/database';
import { createOpenApiValidator } from './dependencies/openapi-validator';
import { createSecurityHandlers } from './dependencies/security-handlers';
import type { Config } from './internal/config';
import { loadOpenApiDocument } from './internal/openapi-document';
import { HealthRepository } from './repositories/health.repository';
import { bindOperations, type HandlerMap } from './routers/handler-map';
import { createHealthHandlers } from './routers/health.router';
import { createMetaHandlers } from './routers/meta.router';
import { createHealthService } from './services/health.service';
import { createErrorHandler } from './utils/error-handler';
import { assignRequestId, REQUEST_ID_HEADER } from './utils/request-id';

export interface AppDependencies {
  config: Config;
  logger: Logger;
  db: Database;
  /** Extra handlers merged over the defaults; lets tests route an operation to a deliberately wrong handler. */
  handlerOverrides?: Partial<HandlerMap>;
}

/** The composition root: repositories, then services, then handlers, then the Express app. */
export function createApp(deps: AppDependencies): Express {
  const { config, logger, db } = deps;
  const document = loadOpenApiDocument();

  const healthRepository = new HealthRepository({ db });
  const healthService = createHealthService({ health: healthRepository });

  const handlers = {
    ...createHealthHandlers({ health: healthService }),
    ...createMetaHandlers({ document, docsHtmlPath: config.docsHtmlPath }),
    ...deps.handlerOverrides,
  } satisfies HandlerMap;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy);
  app.set('query parser', 'extended');

  app.use(
    pinoHttp({
      logger,
      genReqId: assignRequestId,
      quietReqLogger: true,
      // Called again when the response finishes, by which time the validator has matched the path template.
      customProps: (req) => ({
        route: (req as { openapi?: { openApiRoute?: string } }).openapi?.openApiRoute,
      }),
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      customSuccessMessage: (req, res) => `${req.method} ${res.statusCode}`,
      customErrorMessage: (req, res) => `${req.method} ${res.statusCode}`,
      customAttributeKeys: { responseTime: 'duration_ms', reqId: 'request_id' },
      serializers: {
        req: (req: { method: string; url: string }) => ({ method: req.method, path: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      },
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
    }),
  );
  if (config.http.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: [...config.http.corsOrigins],
        exposedHeaders: [
          REQUEST_ID_HEADER,
          'ETag',
          'Location',
          'Retry-After',
          'RateLimit',
          'RateLimit-Policy',
        ],
        maxAge: 600,
      }),
    );
  }
  app.use(
    express.json({ limit: config.http.jsonBodyLimit, type: ['application/json', 'application/*+json'] }),
  );
  app.use(express.urlencoded({ limit: config.http.jsonBodyLimit, extended: false }));
  app.use(
    createOpenApiValidator({
      document,
      validateResponses: config.http.validateResponses,
      securityHandlers: createSecurityHandlers(),
    }),
  );

  const router = express.Router();
  bindOperations(router, document, handlers);
  app.use(router);

  app.use(createErrorHandler());
  return app;
}
