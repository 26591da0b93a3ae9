import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { createAccessTokenCodec } from './dependencies/access-tokens';
import { createAuthenticator } from './dependencies/authenticator';
import type { Database } from './dependencies/database';
import { createOpenApiValidator } from './dependencies/openapi-validator';
import { createPasswordHasher } from './dependencies/password-hasher';
import { createAuthRateLimits } from './dependencies/rate-limit';
import type { SigningKeys } from './dependencies/signing-keys';
import type { Config } from './internal/config';
import { loadOpenApiDocument } from './internal/openapi-document';
import { ClientsRepository } from './repositories/clients.repository';
import { ExternalIdentitiesRepository } from './repositories/external-identities.repository';
import { HealthRepository } from './repositories/health.repository';
import { SessionsRepository } from './repositories/sessions.repository';
import { UsersRepository } from './repositories/users.repository';
import { createAuthHandlers } from './routers/auth.router';
import { createClientsHandlers } from './routers/clients.router';
import { bindOperations, type HandlerMap, type OperationMiddleware } from './routers/handler-map';
import { createHealthHandlers } from './routers/health.router';
import { createMetaHandlers } from './routers/meta.router';
import { createUsersHandlers } from './routers/users.router';
import { createWellKnownHandlers } from './routers/well-known.router';
import { createAuthService } from './services/auth.service';
import { createClientsService } from './services/clients.service';
import { createHealthService } from './services/health.service';
import { createUsersService } from './services/users.service';
import { createErrorHandler } from './utils/error-handler';
import { assignRequestId, REQUEST_ID_HEADER } from './utils/request-id';

export interface AppDependencies {
  config: Config;
  logger: Logger;
  db: Database;
  signingKeys: SigningKeys;
  /** Shares rate-limit counters between instances when present. */
  redis?: Redis | undefined;
  /** Extra handlers merged over the defaults; lets tests route an operation to a deliberately wrong handler. */
  handlerOverrides?: Partial<HandlerMap>;
}

/** The composition root: repositories, then services, then handlers, then the Express app. */
export function createApp(deps: AppDependencies): Express {
  const { config, logger, db, signingKeys } = deps;
  const document = loadOpenApiDocument();

  const repositories = {
    health: new HealthRepository({ db }),
    users: new UsersRepository({ db }),
    sessions: new SessionsRepository({ db }),
    clients: new ClientsRepository({ db }),
    externalIdentities: new ExternalIdentitiesRepository({ db }),
  };
  const hasher = createPasswordHasher();
  const codec = createAccessTokenCodec({ keys: signingKeys, auth: config.auth });
  const authenticator = createAuthenticator({ db, auth: config.auth, codec, logger, ...repositories });

  const services = {
    health: createHealthService({ health: repositories.health }),
    auth: createAuthService({ db, hasher, codec, auth: config.auth, ...repositories }),
    users: createUsersService({ db, hasher, ...repositories }),
    clients: createClientsService({ clients: repositories.clients }),
  };

  const handlers = {
    ...createHealthHandlers({ health: services.health }),
    ...createMetaHandlers({ document, docsHtmlPath: config.docsHtmlPath }),
    ...createAuthHandlers({ auth: services.auth }),
    ...createWellKnownHandlers({ keys: signingKeys, auth: config.auth, publicBaseUrl: config.publicBaseUrl }),
    ...createUsersHandlers({ users: services.users }),
    ...createClientsHandlers({ clients: services.clients }),
    ...deps.handlerOverrides,
  } satisfies HandlerMap;

  const limits = createAuthRateLimits({ config, redis: deps.redis });
  const operationMiddleware: OperationMiddleware = {
    registerUser: [limits.perIp, limits.perAccount((req) => (req.body as { email?: string }).email)],
    createToken: [
      limits.perIp,
      limits.perAccount((req) => {
        const body = req.body as { username?: string; client_id?: string };
        return body.username ?? body.client_id;
      }),
    ],
    changeCurrentUserPassword: [limits.perIp, limits.perAccount((req) => req.principal?.id)],
  };

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
      securityHandlers: authenticator.securityHandlers,
    }),
  );

  const router = express.Router();
  bindOperations(router, document, handlers, operationMiddleware);
  app.use(router);

  app.use(createErrorHandler());
  return app;
}
