/** The requests each endpoint is driven with. State that must change per request (keys, ETags, refresh tokens) rotates through shared pools. */
import { randomUUID } from 'node:crypto';
import type autocannon from 'autocannon';
import type { Scenario } from './load';

export interface Fixtures {
  password: string;
  /** Access tokens of as many users, one request after another. */
  userTokens: string[];
  /** The owner of the seeded items. */
  ownerToken: string;
  itemIds: string[];
  /** Seeded users' emails, for password grants. */
  emails: string[];
  refreshTokens: string[];
}

const FORM = 'application/x-www-form-urlencoded';

/** Round-robin over a list. */
export function cycle<T>(values: readonly T[]): () => T {
  let next = 0;
  return () => values[next++ % values.length]!;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function get(path: () => string, token: () => string): autocannon.Request {
  return { method: 'GET', setupRequest: (req) => ({ ...req, path: path(), headers: bearer(token()) }) };
}

/** `POST /v1/items` with a fresh Idempotency-Key each time. */
export function createItem(token: () => string, item: Record<string, unknown>): autocannon.Request {
  return {
    method: 'POST',
    setupRequest: (req) => ({
      ...req,
      path: '/v1/items',
      headers: { ...bearer(token()), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify(item),
    }),
  };
}

/** A token endpoint request with the form `form()` gives for each request. */
function tokenGrant(form: () => Record<string, string>): Pick<autocannon.Request, 'method' | 'setupRequest'> {
  return {
    method: 'POST',
    setupRequest: (req) => ({
      ...req,
      path: '/v1/auth/token',
      headers: { 'content-type': FORM },
      body: new URLSearchParams(form()).toString(),
    }),
  };
}

export function currentUser(fixtures: Fixtures, connections = 50): Scenario {
  return {
    name: 'GET /v1/users/me',
    connections,
    requests: [get(() => '/v1/users/me', cycle(fixtures.userTokens))],
  };
}

export function passwordGrants(fixtures: Fixtures, connections: number): Scenario {
  const email = cycle(fixtures.emails);
  return {
    name: 'POST /v1/auth/token (password)',
    connections,
    requests: [
      tokenGrant(() => ({ grant_type: 'password', username: email(), password: fixtures.password })),
    ],
  };
}

export function apiScenarios(
  fixtures: Fixtures,
  /** The items' current versions, read from the database (the bench's own connection). */
  versionsOf?: (ids: string[]) => Promise<Map<string, number>>,
): Scenario[] {
  const owner = () => fixtures.ownerToken;
  const itemId = cycle(fixtures.itemIds);
  // Each PATCH takes an item with its current ETag and puts it back with the new one, so concurrent
  // connections never race for one item and every If-Match is current. Requests still in flight when a
  // run ends take their items with them: before each run the pool is read afresh from the database.
  const patchIds = fixtures.itemIds.slice(0, 500);
  let patchable = patchIds.map((id) => ({ id, etag: '"1"' }));
  const refillPatchable = async () => {
    if (!versionsOf) return;
    // Let the last run's stragglers commit first.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const versions = await versionsOf(patchIds);
    patchable = patchIds.map((id) => ({ id, etag: `"${versions.get(id) ?? 1}"` }));
  };
  const refreshable = [...fixtures.refreshTokens];
  return [
    currentUser(fixtures),
    {
      name: 'GET /v1/items/{item_id}',
      connections: 50,
      requests: [get(() => `/v1/items/${itemId()}`, owner)],
    },
    { name: 'GET /v1/items?limit=20', connections: 50, requests: [get(() => '/v1/items?limit=20', owner)] },
    {
      name: 'POST /v1/items (Idempotency-Key)',
      connections: 50,
      requests: [createItem(owner, { name: 'Bench item', tags: ['bench'], metadata: { source: 'bench' } })],
    },
    {
      name: 'PATCH /v1/items/{item_id} (If-Match)',
      connections: 50,
      prepare: refillPatchable,
      requests: [
        {
          method: 'PATCH',
          setupRequest: (req) => {
            // An empty pool (responses lost at the end of a run) shows up as 412s, counted as errors.
            const item = patchable.shift() ?? { id: itemId(), etag: '"0"' };
            return {
              ...req,
              path: `/v1/items/${item.id}`,
              headers: {
                ...bearer(owner()),
                'content-type': 'application/merge-patch+json',
                'if-match': item.etag,
              },
              body: JSON.stringify({ status: 'active' }),
            };
          },
          onResponse: (status, body) => {
            if (status !== 200) return;
            const item = JSON.parse(body) as { id: string; version: number };
            patchable.push({ id: item.id, etag: `"${item.version}"` });
          },
        },
      ],
    },
    passwordGrants(fixtures, 20),
    {
      name: 'POST /v1/auth/token (refresh)',
      connections: 50,
      requests: [
        {
          ...tokenGrant(() => ({
            grant_type: 'refresh_token',
            refresh_token: refreshable.shift() ?? 'pool-empty',
          })),
          onResponse: (status, body) => {
            if (status === 200)
              refreshable.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
          },
        },
      ],
    },
  ];
}
