import type { DatabaseHandle } from '../../src/infrastructure/database';
import type { ItemSort } from '../../src/models/item';
import { ItemsRepository, type ItemFields, type ItemListRow } from '../../src/repositories/items.repository';
import { insertClient, insertUser, newId, refusal, sleep, walkPages } from '../support/repository-fixtures';
import { createTestDatabase } from '../support/test-database';

const fields = (name: string, extra: Partial<ItemFields> = {}): ItemFields => ({
  name,
  description: null,
  status: 'draft',
  tags: [],
  metadata: {},
  ...extra,
});

describe('ItemsRepository', () => {
  let database: DatabaseHandle;
  let items: ItemsRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    items = new ItemsRepository({ db: database.db });
  });
  afterAll(() => database.close());

  const create = (owner: { userId?: string; clientId?: string }, item: ItemFields) =>
    database.db.transaction((trx) => items.create(owner, item, trx));

  describe('constraints', () => {
    it('when an item has two owners or none, then the one-owner check refuses it', async () => {
      const user = await insertUser(database.db);
      const clientId = await insertClient(database.db, user.id);
      const check = { code: '23514', constraint: 'items_one_owner_check' };
      expect(await refusal(create({ userId: user.id, clientId }, fields('both')))).toEqual(check);
      expect(await refusal(create({}, fields('none')))).toEqual(check);
    });

    it('when the status is not one the spec lists, then the status check refuses it', async () => {
      const user = await insertUser(database.db);
      expect(
        await refusal(create({ userId: user.id }, fields('odd', { status: 'lost' as ItemFields['status'] }))),
      ).toEqual({ code: '23514', constraint: 'items_status_check' });
    });

    it('when the owner does not exist, then the foreign key refuses the item', async () => {
      expect(await refusal(create({ userId: newId() }, fields('orphan')))).toMatchObject({ code: '23503' });
    });

    it('when an item is created for a client, then its owner is the client; deleting the client deletes it', async () => {
      const user = await insertUser(database.db);
      const clientId = await insertClient(database.db, user.id);
      const item = await create({ clientId }, fields('machine-made', { metadata: { sku: 'A-1' } }));
      expect(item).toMatchObject({
        owner: { type: 'client', id: clientId },
        version: 1,
        metadata: { sku: 'A-1' },
      });
      await database.db('oauth_clients').where({ id: clientId }).del();
      expect(await items.findById(item.id)).toBeUndefined();
    });
  });

  describe('updates', () => {
    it('when a row is locked for update, then a second locker waits and then sees the committed version', async () => {
      const user = await insertUser(database.db);
      const item = await create({ userId: user.id }, fields('contended'));
      let locked!: () => void;
      const firstLocked = new Promise<void>((resolve) => (locked = resolve));
      const first = database.db.transaction(async (trx) => {
        const current = await items.findByIdForUpdate(item.id, trx);
        locked();
        await sleep(150);
        return items.update(item.id, fields('first'), current!.version + 1, trx);
      });
      await firstLocked;
      const second = database.db.transaction(async (trx) => (await items.findByIdForUpdate(item.id, trx))!);
      const [updated, seen] = await Promise.all([first, second]);
      expect(updated).toMatchObject({ name: 'first', version: 2 });
      expect(seen).toMatchObject({ name: 'first', version: 2 });
    });

    it('when an item is deleted, then it is gone', async () => {
      const user = await insertUser(database.db);
      const item = await create({ userId: user.id }, fields('doomed'));
      await database.db.transaction((trx) => items.delete(item.id, trx));
      expect(await items.findById(item.id)).toBeUndefined();
    });
  });

  describe('keyset pagination', () => {
    let ownerId: string;
    let rows: Array<{ id: string; name: string }>;
    const instant = '2026-06-01T12:00:00.000Z';
    beforeAll(async () => {
      ownerId = (await insertUser(database.db)).id;
      // Nine items: three share a timestamp and a name, so only the id orders them.
      const inserted = await database
        .db('items')
        .insert(
          Array.from({ length: 9 }, (_, i) => ({
            owner_user_id: ownerId,
            name: i < 3 ? 'same' : `name-${i}`,
            status: i % 2 ? 'active' : 'draft',
            tags: i % 3 === 0 ? ['third'] : [],
            created_at: i < 3 ? instant : new Date(Date.parse(instant) + i * 1000).toISOString(),
          })),
        )
        .returning<Array<{ id: string; name: string }>>(['id', 'name']);
      rows = inserted;
    });

    const keyOf = (row: ItemListRow): [string, string] => [row.cursor_sort_value, row.id];
    const walk = (sort: ItemSort, limit: number, between?: (index: number) => Promise<void>) =>
      walkPages((after) => items.list({ ownerId }, sort, limit + 1, after), limit, keyOf, between);

    it.each<ItemSort>(['created_at', '-created_at', 'name', '-name'])(
      'when sorted by %s with ties, then every item comes exactly once, in order',
      async (sort) => {
        const pages = await walk(sort, 2);
        const listed = pages.flat();
        expect(listed).toHaveLength(rows.length);
        expect(new Set(listed.map((row) => row.id)).size).toBe(rows.length);
        const sorted = [...listed].sort((a, b) => {
          const [va, ia] = keyOf(a);
          const [vb, ib] = keyOf(b);
          const byValue = sort.endsWith('name')
            ? va < vb
              ? -1
              : va > vb
                ? 1
                : 0
            : Date.parse(va) - Date.parse(vb);
          return (byValue || (ia < ib ? -1 : ia > ib ? 1 : 0)) * (sort.startsWith('-') ? -1 : 1);
        });
        expect(listed.map((row) => row.id)).toEqual(sorted.map((row) => row.id));
        expect(pages[pages.length - 1]!.length).toBeLessThanOrEqual(2);
      },
    );

    it('when rows of later pages are deleted between pages, then the rest come once, none skipped', async () => {
      const before = (await walk('-created_at', 3)).flat().map((row) => row.id);
      const victims = [before[4]!, before[7]!];
      const pages = await walk('-created_at', 3, async (index) => {
        if (index === 0) await database.db('items').whereIn('id', victims).del();
      });
      expect(pages.flat().map((row) => row.id)).toEqual(before.filter((id) => !victims.includes(id)));
      rows = rows.filter((row) => !victims.includes(row.id));
    });

    it('when the page holds exactly the remaining rows, then there is no extra row and the next page is empty', async () => {
      const all = await items.list({ ownerId }, 'created_at', 100, undefined);
      const lastTwo = await items.list({ ownerId }, 'created_at', 3, keyOf(all[all.length - 3]!));
      expect(lastTwo.map((row) => row.id)).toEqual(all.slice(-2).map((row) => row.id));
      expect(await items.list({ ownerId }, 'created_at', 3, keyOf(all[all.length - 1]!))).toEqual([]);
    });

    it('when filtered, then status, tag, the time range and the name text all apply; % and _ are literal', async () => {
      const active = await items.list({ ownerId, status: 'active' }, '-created_at', 100, undefined);
      expect(active.every((row) => row.status === 'active')).toBe(true);
      const tagged = await items.list({ ownerId, tag: 'third' }, '-created_at', 100, undefined);
      expect(tagged.length).toBeGreaterThan(0);
      expect(tagged.every((row) => row.tags.includes('third'))).toBe(true);
      const later = await items.list(
        { ownerId, createdAfter: instant, createdBefore: new Date(Date.parse(instant) + 5000).toISOString() },
        'created_at',
        100,
        undefined,
      );
      expect(later.length).toBeGreaterThan(0);
      expect(
        later.every(
          (row) =>
            row.created_at >= new Date(instant) && row.created_at < new Date(Date.parse(instant) + 5000),
        ),
      ).toBe(true);
      await create({ userId: ownerId }, fields('100%_done'));
      await create({ userId: ownerId }, fields('100 done'));
      const literal = await items.list({ ownerId, nameContains: '0%_' }, 'name', 100, undefined);
      expect(literal.map((row) => row.name)).toEqual(['100%_done']);
    });

    it('when another owner has items, then they never appear', async () => {
      const stranger = await insertUser(database.db);
      await create({ userId: stranger.id }, fields('not yours'));
      const listed = await items.list({ ownerId }, '-created_at', 100, undefined);
      expect(listed.every((row) => row.owner_id === ownerId)).toBe(true);
    });
  });
});
