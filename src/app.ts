import { createHash } from 'node:crypto';
import cors from 'cors';
import express, { Router, type Express, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { createDomain } from './composition';
import { createAccessTokenCodec, type AccessTokenClaims } from './infrastructure/access-tokens';
import { createAuthenticator } from './dependencies/authenticator';
import { deprecationHeaders } from './dependencies/deprecation';
import { paginationLinks } from './dependencies/pagination-links';
import {
  canonicalizeQuery,
  createHeadSupport,
  negotiateContent,
  refuseMalformedPath,
  refuseMalformedUnicode,
} from './dependencies/http-semantics';
import { createIdempotency } from './dependencies/idempotency';
import { decimalQueryIntegers } from './dependencies/query-integers';
import { createUnitOfWork } from './infrastructure/unit-of-work';
import { createMetrics, type Metrics } from './infrastructure/metrics';
import type { Database } from './infrastructure/database';
import { createOpenApiValidator } from './dependencies/openapi-validator';
import { createCallerRateLimit } from './dependencies/caller-rate-limit';
import { createAuthRateLimits } from './dependencies/rate-limit';
import { createRateLimitPolicies } from './dependencies/rate-limit-policies';
import type { SigningKeys } from './infrastructure/signing-keys';
import { createVerifiedTokens } from './dependencies/verified-tokens';
import type { Config } from './internal/config';
import type { Lifecycle } from './internal/lifecycle';
import { declaresHeader, loadOpenApiDocument, type OpenApiDocument } from './internal/openapi-document';
import { createApiKeysHandlers } from './routers/api-keys.router';
import { createAuditHandlers } from './routers/audit.router';
import { createAuthHandlers } from './routers/auth.router';
import { createClientsHandlers } from './routers/clients.router';
import { createDocsHandlers } from './routers/docs.router';
import { bindOperations, type HandlerMap, type OperationMiddleware } from './dependencies/handler-map';
import { createHealthHandlers } from './routers/health.router';
import { createItemsHandlers } from './routers/items.router';
import { createMetaHandlers } from './routers/meta.router';
import { createOpenApiRenditionHandlers } from './routers/openapi-renditions.router';
import { forDeployment, placeholderBaseUrl } from './internal/deployment-document';
import { createUsersHandlers } from './routers/users.router';
import { createWellKnownHandlers } from './routers/well-known.router';
import { createAuthService } from './services/auth.service';
import { createClientAssertionVerifier } from './services/token-grants/client-assertion';
import { createWebhookEndpointsService } from './services/webhook-endpoints.service';
import { createWebhookEndpointsHandlers } from './routers/webhook-endpoints.router';
import { loadWebhookSecretBox } from './webhooks/webhook-secrets';
import type { SecretBox } from './webhooks/secret-box';
import { checkTargetUrl } from './webhooks/target-url-policy';
import { createErrorHandler } from './dependencies/error-handler';
import { assignRequestId, REQUEST_ID_HEADER } from './dependencies/request-id';
import { requestDeadline } from './dependencies/request-deadline';
import { API_VERSION_HEADER, createApiVersionResolution } from './dependencies/api-version';
import { createVersionTranslation } from './dependencies/version-translation';
import { loadApiVersions, type ApiVersions } from './versions/api-versions';
import { createVersionTranslator } from './versions/translator';
import { createRequestLog, type RequestLog } from './dependencies/request-log';
import { createEventsHandlers } from './routers/events.router';
import { createRequestLogsHandlers } from './routers/request-logs.router';

export interface AppDependencies {
  config: Config;
  logger: Logger;
  db: Database;
  signingKeys: SigningKeys;
  /** Tells readiness when the server is draining; a fresh one (never draining) when absent. */
  lifecycle?: Lifecycle;
  /** Where the app records its metrics; a fresh registry when absent (main serves it on METRICS_PORT). */
  metrics?: Metrics;
  /** Shares rate-limit counters between instances when present. */
  redis?: Redis | undefined;
  /** The spec to serve and validate against; the bundled one unless a benchmark pads it with more operations. */
  document?: OpenApiDocument;
  /** Seals webhook signing secrets; the delivery worker must open them with the same one. From config when absent. */
  webhookSecrets?: SecretBox;
  /** Called after every commit that enqueued webhook deliveries; wakes the worker so they leave at once. */
  onDeliveriesCommitted?: () => void;
  /** The API versions served; the generated bundles when absent. */
  versions?: ApiVersions;
  /** Writes the request log in batches; one from config when absent. start.ts hands one in to flush it on shutdown. */
  requestLog?: RequestLog;
  /** Extra handlers merged over the defaults; lets tests route an operation to a deliberately wrong handler. */
  handlerOverrides?: Partial<HandlerMap>;
}

const MAX_USER_AGENT_LOGGED = 256;

/**
 * What the one access-log line says besides method, path, status and duration: who called (kind and id,
 * never a credential), from where (`req.ip`, so TRUST_PROXY applies) and with what, the route template,
 * the problem `type` when the answer was one, and the response size. Added to the line itself rather than
 * through `customProps`, which costs pino-http a child logger per request.
 */
function withAccessLogFields(
  req: Request,
  res: Response,
  line: Record<string, unknown>,
): Record<string, unknown> {
  const size = res.getHeader('content-length');
  line.route = (req as { openapi?: { openApiRoute?: string } }).openapi?.openApiRoute;
  line.principal = req.principal ? { kind: req.principal.kind, id: req.principal.id } : undefined;
  line.client_address = req.ip;
  line.user_agent = req.get('user-agent')?.slice(0, MAX_USER_AGENT_LOGGED);
  line.problem_type = res.locals.problemType;
  line.response_bytes = size === undefined ? undefined : Number(size);
  return line;
}

/** The composition root: the domain (repositories, services), then authentication, handlers and the Express app. */
export function createApp(deps: AppDependencies): Express {
  const { config, logger, db, signingKeys, onDeliveriesCommitted } = deps;
  const document = deps.document ?? loadOpenApiDocument();
  const versions = deps.versions ?? loadApiVersions();
  const metrics = deps.metrics ?? createMetrics();
  metrics.observeDatabase(db);

  const {
    repositories,
    hasher,
    outbox,
    services: domain,
  } = createDomain({
    config,
    db,
    ...(deps.lifecycle ? { lifecycle: deps.lifecycle } : {}),
    ...(onDeliveriesCommitted ? { onDeliveriesQueued: onDeliveriesCommitted } : {}),
  });
  const { userCreation } = domain;
  const codec = createAccessTokenCodec({ keys: signingKeys, auth: config.auth });
  // Bounded: at ~1 KB an entry, 10,000 distinct live tokens take ~10 MB; beyond that the oldest go.
  const verifiedTokens = createVerifiedTokens<AccessTokenClaims>({ maxEntries: 10_000 });
  const authenticator = createAuthenticator({
    db,
    auth: config.auth,
    codec,
    verifiedTokens,
    logger,
    userCreation,
    ...repositories,
  });

  const services = {
    ...domain,
    webhookEndpoints: createWebhookEndpointsService({
      ...repositories,
      outbox,
      secrets: deps.webhookSecrets ?? loadWebhookSecretBox(config.webhooks, logger),
      checkUrl: (url) => checkTargetUrl(url, { allowLoopbackHttp: config.webhooks.allowLoopbackHttp }),
      eventsRetentionDays: config.events.retentionDays,
    }),
    auth: createAuthService({
      hasher,
      codec,
      auth: config.auth,
      ...repositories,
      assertions: createClientAssertionVerifier({
        // RFC 7523 names the token endpoint URL; RFC 7523bis the issuer identifier. Either is us.
        audiences: [`${config.publicBaseUrl}/v1/auth/token`, config.auth.issuer],
        checkUrl: (url) => checkTargetUrl(url, { allowLoopbackHttp: config.webhooks.allowLoopbackHttp }),
      }),
    }),
  };
  const idempotency = createIdempotency({ repository: repositories.idempotency });
  // An introspection answer is never replayed: the token it describes may have ended since.
  const introspectionIdempotency = createIdempotency({
    repository: repositories.idempotency,
    isReplayable: () => Promise.resolve(false),
  });
  // A token answer is replayed only while its tokens are unused and live, and its record (which holds the
  // tokens, encrypted) is kept no longer than the access token lives, not the usual 24 hours.
  const tokenIdempotency = createIdempotency({
    repository: repositories.idempotency,
    isReplayable: (stored) => services.auth.isReplayable(stored.body),
    recordTtlSeconds: config.auth.accessTokenTtlSeconds,
  });

  const handlers = {
    ...createHealthHandlers({ health: services.health }),
    // What is served names this deployment (PUBLIC_BASE_URL); the checked-in spec keeps a placeholder.
    ...createMetaHandlers({
      versions,
      document: forDeployment(document, config.publicBaseUrl),
      forDeployment: (older) => forDeployment(older, config.publicBaseUrl),
    }),
    ...createOpenApiRenditionHandlers({ publicBaseUrl: config.publicBaseUrl }),
    ...createDocsHandlers({
      docsHtmlPath: config.docsHtmlPath,
      baseUrl: { placeholder: placeholderBaseUrl(document), deployment: config.publicBaseUrl },
      specDigest: createHash('sha256').update(JSON.stringify(document)).digest('hex'),
    }),
    ...createAuthHandlers({ auth: services.auth, registration: services.registration }),
    ...createWellKnownHandlers({ keys: signingKeys, auth: config.auth, publicBaseUrl: config.publicBaseUrl }),
    ...createUsersHandlers({ users: services.users }),
    ...createClientsHandlers({ clients: services.clients }),
    ...createItemsHandlers({ items: services.items }),
    ...createAuditHandlers({ audit: services.audit }),
    ...createWebhookEndpointsHandlers({ webhookEndpoints: services.webhookEndpoints }),
    ...createApiKeysHandlers({ apiKeys: services.apiKeys }),
    ...createEventsHandlers({ events: services.events }),
    ...createRequestLogsHandlers({ requestLogs: services.requestLogs }),
    ...deps.handlerOverrides,
  } satisfies HandlerMap;

  const rateLimitsOf = createRateLimitPolicies({
    auth: createAuthRateLimits({ config, redis: deps.redis, onRejected: metrics.rateLimited }),
    caller: createCallerRateLimit({ config, redis: deps.redis, onRejected: metrics.rateLimited }),
  });
  // Conventions the spec switches on per operation: rate limits (first, so every answer after them is
  // counted and says so), content negotiation, deprecation headers, next-page links, and around the write,
  // Idempotency-Key.
  const operationMiddleware: OperationMiddleware = (entry) => [
    ...rateLimitsOf(entry),
    ...decimalQueryIntegers(document, entry),
    ...negotiateContent(entry),
    ...deprecationHeaders(entry),
    ...paginationLinks(entry),
  ];

  const app = express();
  app.disable('x-powered-by');
  // ETags are the resources' own versions (items); no body hashing on every response.
  app.set('etag', false);
  app.set('trust proxy', config.http.trustProxy);
  app.set('query parser', 'extended');

  app.use(metrics.observeRequests);
  app.use(
    pinoHttp({
      logger,
      genReqId: assignRequestId,
      quietReqLogger: true,
      // With the patch in patches/pino-http: the access line carries `req` itself instead of a child logger
      // bound to it on every request.
      quietResLogger: true,
      // Built when the response finishes, by which time the validator has matched the path template.
      customSuccessObject: (req, res, line: Record<string, unknown>) =>
        withAccessLogFields(req as Request, res as Response, line),
      customErrorObject: (req, res, _error, line: Record<string, unknown>) =>
        withAccessLogFields(req as Request, res as Response, line),
      // Our serializers read three fields; pino-std-serializers' copy of every header is not needed first.
      wrapSerializers: false,
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      customSuccessMessage: (req, res) => `${req.method} ${res.statusCode}`,
      customErrorMessage: (req, res) => `${req.method} ${res.statusCode}`,
      customAttributeKeys: { responseTime: 'duration_ms', reqId: 'request_id' },
      serializers: {
        req: (req: { method: string; originalUrl?: string; url: string }) => ({
          method: req.method,
          path: (req.originalUrl ?? req.url).split('?')[0],
        }),
        res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      },
    }),
  );
  app.use(
    (
      deps.requestLog ??
      createRequestLog({
        config: config.requestLog,
        insertMany: (entries) => repositories.requestLogs.insertMany(entries),
        logger,
      })
    ).middleware,
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
          API_VERSION_HEADER,
          'Deprecation',
          'Sunset',
          'Link',
        ],
        maxAge: 600,
      }),
    );
  }
  // After CORS, so a browser can read the problem of a version it may not ask for.
  const apiVersion = createApiVersionResolution({ versions, pinnedVersion: authenticator.pinnedVersion });
  app.use(apiVersion.fromHeader);
  app.use(
    express.json({
      limit: config.http.jsonBodyLimit,
      type: ['application/json', 'application/*+json'],
      verify: refuseMalformedUnicode,
    }),
  );
  app.use(express.urlencoded({ limit: config.http.jsonBodyLimit, extended: false }));
  // From here on (authentication, the handler, its unit of work) the database is bounded by the deadline.
  app.use(requestDeadline({ db, deadlineMs: config.http.requestDeadlineMs }));
  const head = createHeadSupport();
  app.use(refuseMalformedPath, canonicalizeQuery, head.validateAsGet);
  // Taken before any validator has seen (and changed) the latest document.
  const translation = createVersionTranslation({
    latest: versions.latest,
    translator: createVersionTranslator(versions),
    ...(config.http.validateResponses ? { latestDocument: document } : {}),
  });
  // Each version's requests and responses are validated against its own spec, so a problem's pointers
  // name the caller's shape; the handlers behind see the latest one (translation, in bindOperations).
  const validators = new Map(
    versions.supported.map((name) => [
      name,
      Router().use(
        createOpenApiValidator({
          document: name === versions.latest ? document : versions.documentOf(name),
          // generated/ is checked by tests/contract/openapi-schema.contract.test.ts; a document handed in
          // (a padded benchmark spec, a test's variant) is checked here as it always was.
          validateSpec: name === versions.latest && deps.document !== undefined,
          validateResponses: config.http.validateResponses,
          securityHandlers: authenticator.securityHandlers,
        }),
      ),
    ]),
  );
  app.use(apiVersion.fromPin);
  app.use((req, res, next) => validators.get(req.apiVersion ?? versions.latest)!(req, res, next));

  app.use(head.restoreHead);

  app.use(
    bindOperations(document, handlers, {
      createUnitOfWork: () => createUnitOfWork(db),
      middlewareFor: operationMiddleware,
      guardFor: (entry) => {
        if (!declaresHeader(document, entry, 'Idempotency-Key')) return undefined;
        if (entry.operationId === 'introspectToken') return introspectionIdempotency;
        return entry.operationId === 'createToken' ? tokenIdempotency : idempotency;
      },
      translation,
    }),
  );

  app.use(createErrorHandler({ onAuthFailure: metrics.authFailed }));
  return app;
}
