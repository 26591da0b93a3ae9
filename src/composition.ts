import { availableParallelism } from 'node:os';
import type { Database } from './infrastructure/database';
import { createPasswordHasher } from './infrastructure/password-hasher';
import type { Config } from './internal/config';
import { createLifecycle, type Lifecycle } from './internal/lifecycle';
import { ApiKeysRepository } from './repositories/api-keys.repository';
import { AuditRepository } from './repositories/audit.repository';
import { ClientsRepository } from './repositories/clients.repository';
import { EventsRepository } from './repositories/events.repository';
import { ExternalIdentitiesRepository } from './repositories/external-identities.repository';
import { HealthRepository } from './repositories/health.repository';
import { IdempotencyRepository } from './repositories/idempotency.repository';
import { ItemsRepository } from './repositories/items.repository';
import { RequestLogsRepository } from './repositories/request-logs.repository';
import { SessionsRepository } from './repositories/sessions.repository';
import { UsersRepository } from './repositories/users.repository';
import { WebhookEndpointsRepository } from './repositories/webhook-endpoints.repository';
import { WebhookEventsRepository } from './repositories/webhook-events.repository';
import { createApiKeysService } from './services/api-keys.service';
import { createAuditService } from './services/audit.service';
import { createClientsService } from './services/clients.service';
import { checkTargetUrl } from './webhooks/target-url-policy';
import { createEventOutbox } from './services/event-outbox';
import { createEventsService } from './services/events.service';
import { createHealthService } from './services/health.service';
import { createItemsService } from './services/items.service';
import { createRegistrationService } from './services/registration.service';
import { createRequestLogsService } from './services/request-logs.service';
import { createUserCreation } from './services/user-creation.service';
import { createUsersService } from './services/users.service';

export type Domain = ReturnType<typeof createDomain>;

/**
 * Repositories, then the services that need nothing but the database and configuration. The HTTP app
 * (createApp) and the CLI both build on this one function, so a rule a service enforces holds for both.
 */
export function createDomain(deps: {
  config: Pick<Config, 'idempotency' | 'webhooks' | 'events' | 'requestLog'>;
  db: Database;
  /** Tells readiness when the server is draining; a fresh one (never draining) when absent. */
  lifecycle?: Lifecycle;
  /** Wakes the webhook delivery worker after a commit that queued deliveries (none in the CLI). */
  onDeliveriesQueued?: () => void;
}) {
  const { config, db } = deps;
  const repositories = {
    health: new HealthRepository({ db }),
    users: new UsersRepository({ db }),
    sessions: new SessionsRepository({ db }),
    clients: new ClientsRepository({ db }),
    externalIdentities: new ExternalIdentitiesRepository({ db }),
    items: new ItemsRepository({ db }),
    audit: new AuditRepository({ db }),
    webhookEndpoints: new WebhookEndpointsRepository({ db }),
    webhookEvents: new WebhookEventsRepository({ db }),
    apiKeys: new ApiKeysRepository({ db }),
    events: new EventsRepository({ db }),
    requestLogs: new RequestLogsRepository({ db }),
    idempotency: new IdempotencyRepository({
      db,
      abandonedAfterSeconds: config.idempotency.abandonedAfterSeconds,
    }),
  };
  // argon2 runs on libuv's pool; one core is left to the event loop.
  const hasher = createPasswordHasher({ maxConcurrent: Math.max(1, availableParallelism() - 1) });
  const outbox = createEventOutbox({
    webhookEvents: repositories.webhookEvents,
    ...(deps.onDeliveriesQueued ? { onDeliveriesQueued: deps.onDeliveriesQueued } : {}),
  });
  const userCreation = createUserCreation({ hasher, outbox, ...repositories });
  const services = {
    health: createHealthService({
      health: repositories.health,
      lifecycle: deps.lifecycle ?? createLifecycle(),
    }),
    users: createUsersService({ hasher, outbox, ...repositories }),
    clients: createClientsService({
      outbox,
      ...repositories,
      // A JWKS URL is an outbound target like a webhook's: the same policy, the same test allowance.
      checkUrl: (url) => checkTargetUrl(url, { allowLoopbackHttp: config.webhooks.allowLoopbackHttp }),
    }),
    items: createItemsService({ outbox, ...repositories }),
    audit: createAuditService({ audit: repositories.audit }),
    apiKeys: createApiKeysService({ outbox, ...repositories }),
    events: createEventsService({ events: repositories.events, retentionDays: config.events.retentionDays }),
    requestLogs: createRequestLogsService({
      requestLogs: repositories.requestLogs,
      retentionDays: config.requestLog.retentionDays,
    }),
    userCreation,
    registration: createRegistrationService({ userCreation }),
  };
  return { repositories, hasher, outbox, services };
}
