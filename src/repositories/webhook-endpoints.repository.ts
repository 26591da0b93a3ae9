import type { Knex } from 'knex';
import type { Database } from '../infrastructure/database';
import type { ResourceOwner } from '../models/owner';
import type { WebhookEndpoint, WebhookEventType } from '../models/webhook';
import { ownerColumns, whereOwned } from './owner-columns';
import { isoOrNull } from '../utils/instant';
import type { KeysetPosition, KeysetRow } from '../utils/keyset-page';
import { keysetQuery, newestFirst } from './keyset-query';

interface WebhookEndpointRow {
  id: string;
  url: string;
  description: string | null;
  event_types: WebhookEventType[];
  status: WebhookEndpoint['status'];
  disabled_reason: WebhookEndpoint['disabled_reason'];
  disabled_at: Date | null;
  failing_since: Date | null;
  previous_secret_expires_at: Date | null;
  api_version: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export type WebhookEndpointListRow = WebhookEndpointRow & KeysetRow;

export interface WebhookEndpointChanges {
  url?: string;
  description?: string | null;
  eventTypes?: readonly WebhookEventType[];
  status?: WebhookEndpoint['status'];
  apiVersion?: string;
}

const ENDPOINT_COLUMNS = [
  'id',
  'url',
  'description',
  'event_types',
  'status',
  'disabled_reason',
  'disabled_at',
  'failing_since',
  'previous_secret_expires_at',
  'api_version',
  'version',
  'created_at',
  'updated_at',
] as const;

function toEndpoint(row: WebhookEndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    event_types: row.event_types,
    status: row.status,
    disabled_reason: row.disabled_reason,
    disabled_at: isoOrNull(row.disabled_at),
    failing_since: isoOrNull(row.failing_since),
    previous_secret_expires_at: isoOrNull(row.previous_secret_expires_at),
    api_version: row.api_version,
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export class WebhookEndpointsRepository {
  constructor(private readonly deps: { db: Database }) {}

  async create(
    owner: ResourceOwner,
    fields: {
      url: string;
      description: string | null;
      eventTypes: readonly WebhookEventType[];
      secretSealed: Buffer;
      apiVersion: string;
    },
    trx: Knex.Transaction,
  ): Promise<WebhookEndpoint> {
    const [row] = await trx('webhook_endpoints')
      .insert({
        ...ownerColumns(owner),
        url: fields.url,
        description: fields.description,
        event_types: [...fields.eventTypes],
        secret_sealed: fields.secretSealed,
        api_version: fields.apiVersion,
      })
      .returning<WebhookEndpointRow[]>(ENDPOINT_COLUMNS);
    return toEndpoint(row!);
  }

  /** The owner's endpoint; someone else's is as absent as a missing one. */
  async findOwned(
    owner: ResourceOwner,
    id: string,
    db: Knex = this.deps.db,
  ): Promise<WebhookEndpoint | undefined> {
    const row = (await whereOwned(
      db('webhook_endpoints').select(ENDPOINT_COLUMNS).where({ id }),
      owner,
    ).first()) as WebhookEndpointRow | undefined;
    return row ? toEndpoint(row) : undefined;
  }

  /** An endpoint and its owner, whoever that is: for what the API itself does to it (the disabled notice). */
  async findWithOwner(
    id: string,
    trx: Knex.Transaction,
  ): Promise<{ endpoint: WebhookEndpoint; owner: ResourceOwner } | undefined> {
    const row = (await trx('webhook_endpoints')
      .select([...ENDPOINT_COLUMNS, 'owner_user_id', 'owner_client_id'])
      .where({ id })
      .first()) as
      (WebhookEndpointRow & { owner_user_id: string | null; owner_client_id: string | null }) | undefined;
    if (!row) return undefined;
    const owner: ResourceOwner = row.owner_user_id
      ? { userId: row.owner_user_id }
      : { clientId: row.owner_client_id! };
    return { endpoint: toEndpoint(row), owner };
  }

  /** Locks the row until the transaction ends, so a concurrent write waits and then sees the new version. */
  async findOwnedForUpdate(
    owner: ResourceOwner,
    id: string,
    trx: Knex.Transaction,
  ): Promise<WebhookEndpoint | undefined> {
    const row = (await whereOwned(
      trx('webhook_endpoints').select(ENDPOINT_COLUMNS).where({ id }).forUpdate(),
      owner,
    ).first()) as WebhookEndpointRow | undefined;
    return row ? toEndpoint(row) : undefined;
  }

  /**
   * Applies the changes as one new version. Enabling clears why it was disabled and the failing streak;
   * disabling records the owner as the reason.
   */
  async update(id: string, changes: WebhookEndpointChanges, trx: Knex.Transaction): Promise<WebhookEndpoint> {
    const statusColumns =
      changes.status === 'enabled'
        ? { status: 'enabled', disabled_reason: null, disabled_at: null, failing_since: null }
        : changes.status === 'disabled'
          ? { status: 'disabled', disabled_reason: 'by_owner', disabled_at: trx.fn.now() }
          : {};
    const [row] = await trx('webhook_endpoints')
      .where({ id })
      .update({
        ...(changes.url !== undefined ? { url: changes.url } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.eventTypes !== undefined ? { event_types: [...changes.eventTypes] } : {}),
        ...(changes.apiVersion !== undefined ? { api_version: changes.apiVersion } : {}),
        ...statusColumns,
        version: trx.raw('?? + 1', ['version']),
        updated_at: trx.fn.now(),
      })
      .returning<WebhookEndpointRow[]>(ENDPOINT_COLUMNS);
    return toEndpoint(row!);
  }

  /** The new secret signs from now on; the current one keeps signing beside it until `previousExpiresAt`. */
  async rotateSecret(
    id: string,
    secretSealed: Buffer,
    previousExpiresAt: Date,
    trx: Knex.Transaction,
  ): Promise<WebhookEndpoint> {
    const [row] = await trx('webhook_endpoints')
      .where({ id })
      .update({
        previous_secret_sealed: trx.ref('secret_sealed'),
        previous_secret_expires_at: previousExpiresAt,
        secret_sealed: secretSealed,
        version: trx.raw('?? + 1', ['version']),
        updated_at: trx.fn.now(),
      })
      .returning<WebhookEndpointRow[]>(ENDPOINT_COLUMNS);
    return toEndpoint(row!);
  }

  async delete(id: string, trx: Knex.Transaction): Promise<void> {
    await trx('webhook_endpoints').where({ id }).del();
  }

  /** The owner's endpoints, newest first, after the keyset `after`. */
  list(
    owner: ResourceOwner,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<WebhookEndpointListRow[]> {
    const { db } = this.deps;
    const query = whereOwned(db('webhook_endpoints').select(ENDPOINT_COLUMNS), owner);
    return keysetQuery<WebhookEndpointRow>(db, query, newestFirst(), limit, after);
  }

  static toEndpoint = toEndpoint;
}
