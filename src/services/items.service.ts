import type { Knex } from 'knex';
import type { CreateItemInput, Item, ItemListQuery, ItemMergePatch } from '../models/item';
import { isAdministrator, type Principal } from '../models/principal';
import { auditEventFor } from '../repositories/audit.repository';
import type { WebhookAudience } from '../repositories/webhook-events.repository';
import { ItemsRepository, type ItemFields } from '../repositories/items.repository';
import { cursorValue, type Page } from '../utils/cursor';
import { keysetPage } from '../utils/keyset-page';
import { ForbiddenError, NotFoundError } from '../utils/errors';
import { toDatabaseInstant } from '../utils/instant';
import { writeIfMatch } from './conditional-write';
import type { WriteContext } from '../infrastructure/unit-of-work';
import type { EventOutbox } from './event-outbox';

export interface ItemsService {
  create(input: CreateItemInput, context: WriteContext): Promise<Item>;
  get(actor: Principal, id: string): Promise<Item>;
  list(actor: Principal, query: ItemListQuery): Promise<Page<Item>>;
  update(
    id: string,
    patch: ItemMergePatch,
    ifMatch: string | undefined,
    context: WriteContext,
  ): Promise<Item>;
  delete(id: string, ifMatch: string | undefined, context: WriteContext): Promise<void>;
}

/** RFC 7386 on an item: present fields replace, `null` clears, metadata merges key by key. */
function applyMergePatch(item: Item, patch: ItemMergePatch): ItemFields {
  const metadata = { ...item.metadata };
  for (const [key, value] of Object.entries(patch.metadata ?? {})) {
    if (value === null) delete metadata[key];
    else metadata[key] = value;
  }
  return {
    name: patch.name ?? item.name,
    description: patch.description === undefined ? item.description : patch.description,
    status: patch.status ?? item.status,
    tags: patch.tags ?? item.tags,
    metadata,
  };
}

export function createItemsService(deps: {
  items: ItemsRepository;
  /** Writes each change's event and its audit row in one statement. */
  outbox: EventOutbox;
}): ItemsService {
  const { items, outbox } = deps;
  // An item's events reach its owner's endpoints only: what the owner may read, nobody else.
  const ownerOf = (item: Item): WebhookAudience =>
    item.owner.type === 'user' ? { userId: item.owner.id } : { clientId: item.owner.id };

  // Someone else's item answers exactly like a missing one, so ids reveal nothing.
  const ensureVisible = (actor: Principal, item: Item | undefined): Item => {
    if (!item || (item.owner.id !== actor.id && !isAdministrator(actor)))
      throw new NotFoundError('No item with this id.');
    return item;
  };
  const lockVisible = (actor: Principal, id: string) => async (trx: Knex.Transaction) =>
    ensureVisible(actor, await items.findByIdForUpdate(id, trx));

  return {
    create(input, context) {
      const { actor } = context;
      return context.transaction(async (trx) => {
        const item = await items.create(
          actor.kind === 'user' ? { userId: actor.id } : { clientId: actor.id },
          {
            name: input.name,
            description: input.description ?? null,
            status: input.status ?? 'draft',
            tags: input.tags ?? [],
            metadata: input.metadata ?? {},
          },
          trx,
        );
        await outbox.record(
          context,
          { type: 'item.created', resourceType: 'item', resourceId: item.id, data: item },
          ownerOf(item),
          auditEventFor(context, 'item.created', 'item', item.id),
        );
        return item;
      });
    },

    async get(actor, id) {
      return ensureVisible(actor, await items.findById(id));
    },

    async list(actor, query) {
      if (query.owner_id && query.owner_id !== actor.id && !isAdministrator(actor)) {
        throw new ForbiddenError('Only administrators may list the items of another owner.');
      }
      const filters = {
        ownerId: query.owner_id ?? actor.id,
        ...(query.status ? { status: query.status } : {}),
        ...(query.tag ? { tag: query.tag } : {}),
        ...(query.created_after ? { createdAfter: toDatabaseInstant(query.created_after) } : {}),
        ...(query.created_before ? { createdBefore: toDatabaseInstant(query.created_before) } : {}),
        ...(query.q ? { nameContains: query.q } : {}),
      };
      const byName = query.sort.endsWith('name');
      return keysetPage({
        cursor: query.cursor,
        limit: query.limit,
        boundTo: query.sort,
        sortValue: byName ? cursorValue.text : cursorValue.timestamp,
        fetch: (limit, after) => items.list(filters, query.sort, limit, after),
        toModel: ItemsRepository.toItem,
      });
    },

    update(id, patch, ifMatch, context) {
      return writeIfMatch(context, ifMatch, lockVisible(context.actor, id), async (trx, current) => {
        const item = await items.update(id, applyMergePatch(current, patch), current.version + 1, trx);
        await outbox.record(
          context,
          { type: 'item.updated', resourceType: 'item', resourceId: id, data: item },
          ownerOf(item),
          auditEventFor(context, 'item.updated', 'item', id),
        );
        return item;
      });
    },

    delete(id, ifMatch, context) {
      return writeIfMatch(context, ifMatch, lockVisible(context.actor, id), async (trx, current) => {
        await items.delete(id, trx);
        await outbox.record(
          context,
          { type: 'item.deleted', resourceType: 'item', resourceId: id, data: { id } },
          ownerOf(current),
          auditEventFor(context, 'item.deleted', 'item', id),
        );
      });
    },
  };
}
