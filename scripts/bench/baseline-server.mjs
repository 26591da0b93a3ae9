// The same-work baselines: bare node:http + pg doing, for each benchmarked operation, the checks and the
// durable effects the API does, in the fewest round trips. Every request verifies the ES256 access token
// (key built once; algorithm, issuer, audience and type pinned), remembered until `exp` as the API does
// unless BASELINE_TOKEN_CACHE=0, and checks session and user in the same statement as its work:
//   GET /v1/users/me              session + user: one named statement
//   GET /v1/items/{id}            session + user + item, owner checked: one statement
//   GET /v1/items?limit=20        session + user + a keyset page of the caller's items: one statement
//   POST /v1/items + Idempotency-Key
//                                 session + user checked, key claimed, item, audit row, outbox event with its
//                                 deliveries and the sealed idempotency record (fingerprint MAC, AES-GCM
//                                 response, as the API stores it): one statement, one commit
//   PATCH /v1/items/{id} + If-Match
//                                 session + user + owner + version checked, item updated, audit row, outbox
//                                 event: one statement, one commit
// Nothing else: no schema validation, no logging, no metrics. What the API spends beyond this is the cost
// of its framework, its checks of the request and response, and its extra round trips.
//   BASELINE_PORT, DATABASE_URL, AUTH_JWT_PUBLIC_KEY (PEM), AUTH_ISSUER, AUTH_AUDIENCE, BASELINE_TOKEN_CACHE
import { Buffer } from 'node:buffer';
import {
  createCipheriv,
  createHash,
  createHmac,
  createPublicKey,
  hkdfSync,
  randomBytes,
  randomUUID,
} from 'node:crypto';
import { createServer } from 'node:http';
import { URLSearchParams } from 'node:url';
import jwt from 'jsonwebtoken';
import pg from 'pg';

const key = createPublicKey(process.env.AUTH_JWT_PUBLIC_KEY);
const verifyOptions = {
  algorithms: ['ES256'],
  issuer: process.env.AUTH_ISSUER,
  audience: process.env.AUTH_AUDIENCE,
  complete: true,
};
const cacheTokens = process.env.BASELINE_TOKEN_CACHE !== '0';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

// The principal as every statement below reads it: the session, not revoked, of an active user the token
// names. A statement whose principal is missing does nothing and says so.
const PRINCIPAL = `SELECT u.id, u.role FROM auth_sessions s JOIN users u ON u.id = s.user_id
                    WHERE s.id = $1 AND s.revoked_at IS NULL AND u.id = $2 AND u.status = 'active'`;
const ITEM_COLUMNS = `id, owner_id, owner_user_id, name, description, status, tags, metadata, version,
                      created_at, updated_at`;
const ITEM_JSON = `jsonb_build_object('id', i.id, 'name', i.name, 'description', i.description,
  'status', i.status, 'tags', i.tags, 'metadata', i.metadata, 'owner_id', i.owner_id, 'owner_type', 'user',
  'version', i.version, 'created_at', i.created_at, 'updated_at', i.updated_at)`;

const statements = {
  principal: {
    name: 'baseline-principal',
    text: `SELECT s.revoked_at, u.id, u.email, u.name, u.role, u.status, u.created_at, u.updated_at
             FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
  },
  item: {
    name: 'baseline-item',
    text: `WITH p AS (${PRINCIPAL})
           SELECT p.id AS principal_id, p.role, i.id, i.owner_id, i.name, i.description, i.status, i.tags,
                  i.metadata, i.version, i.created_at, i.updated_at
             FROM p LEFT JOIN items i ON i.id = $3`,
  },
  list: {
    name: 'baseline-list',
    text: `WITH p AS (${PRINCIPAL})
           SELECT p.id AS principal_id, i.id, i.owner_id, i.name, i.description, i.status, i.tags,
                  i.metadata, i.version, i.created_at, i.updated_at
             FROM p LEFT JOIN LATERAL (
                    SELECT ${ITEM_COLUMNS} FROM items WHERE owner_id = p.id
                     ORDER BY created_at DESC, id DESC LIMIT $3) i ON true`,
  },
  create: {
    name: 'baseline-create',
    // $1 session, $2 user, $3 key hash, $4 request MAC, $5 status, $6 salt, $7 iv, $8 ciphertext,
    // $9 item id, $10 name, $11 description, $12 item status, $13 tags, $14 metadata, $15 now,
    // $16 request id, $17 event id, $18 event payload
    text: `WITH p AS (${PRINCIPAL}),
           claim AS (
             INSERT INTO idempotency_keys (principal_id, key_hash, request_hash, response_status, response_salt,
                                           response_iv, response_ciphertext, created_at, completed_at, expires_at)
             SELECT p.id, $3, $4, $5, $6, $7, $8, $15, $15, $15::timestamptz + interval '24 hours' FROM p
             ON CONFLICT (principal_id, key_hash) DO NOTHING
             RETURNING principal_id),
           item AS (
             INSERT INTO items (id, owner_user_id, name, description, status, tags, metadata, created_at, updated_at)
             SELECT $9, claim.principal_id, $10, $11, $12, $13, $14, $15, $15 FROM claim
             RETURNING id, owner_user_id),
           audit AS (
             INSERT INTO audit_events (actor_type, actor_id, action, resource_type, resource_id, request_id)
             SELECT 'user', item.owner_user_id, 'item.created', 'item', item.id, $16 FROM item),
           event AS (
             INSERT INTO webhook_events (id, type, occurred_at, resource_type, resource_id, payload)
             SELECT $17, 'item.created', $15, 'item', item.id, $18 FROM item
             RETURNING id, type, sequence, resource_id),
           deliveries AS (
             INSERT INTO webhook_deliveries (endpoint_id, event_id, event_sequence, resource_id)
             SELECT e.id, event.id, event.sequence, event.resource_id
               FROM event JOIN webhook_endpoints e ON event.type = ANY (e.event_types)
              WHERE e.owner_user_id = $2)
           SELECT (SELECT count(*) FROM p) AS principals, (SELECT count(*) FROM item) AS items`,
  },
  patch: {
    name: 'baseline-patch',
    // $1 session, $2 user, $3 item id, $4 If-Match version, $5 name, $6 description (set when $7),
    // $7 description given, $8 status, $9 tags, $10 metadata patch, $11 request id, $12 event id
    text: `WITH p AS (${PRINCIPAL}),
           updated AS (
             UPDATE items i SET name = coalesce($5, i.name),
                                description = CASE WHEN $7 THEN $6 ELSE i.description END,
                                status = coalesce($8, i.status), tags = coalesce($9, i.tags),
                                metadata = jsonb_strip_nulls(i.metadata || coalesce($10::jsonb, '{}')),
                                version = i.version + 1, updated_at = now()
               FROM p
              WHERE i.id = $3 AND i.version = $4 AND (i.owner_id = p.id OR p.role = 'admin')
             RETURNING ${ITEM_COLUMNS.split(', ')
               .map((column) => `i.${column.trim()}`)
               .join(', ')}),
           audit AS (
             INSERT INTO audit_events (actor_type, actor_id, action, resource_type, resource_id, request_id)
             SELECT 'user', $2, 'item.updated', 'item', i.id, $11 FROM updated i),
           event AS (
             INSERT INTO webhook_events (id, type, occurred_at, resource_type, resource_id, payload)
             SELECT $12, 'item.updated', now(), 'item', i.id,
                    jsonb_build_object('id', $12::uuid, 'type', 'item.updated', 'data', ${ITEM_JSON})
               FROM updated i
             RETURNING id, type, sequence, resource_id),
           deliveries AS (
             INSERT INTO webhook_deliveries (endpoint_id, event_id, event_sequence, resource_id)
             SELECT e.id, event.id, event.sequence, event.resource_id
               FROM event JOIN webhook_endpoints e ON event.type = ANY (e.event_types)
              WHERE e.owner_user_id = $2)
           SELECT (SELECT count(*) FROM p) AS principals, u.* FROM updated u RIGHT JOIN (SELECT 1) one ON true`,
  },
  // Only when the one statement changed nothing: which check refused it.
  patchRefused: {
    name: 'baseline-patch-refused',
    text: 'SELECT owner_id, version FROM items WHERE id = $1',
  },
  replay: {
    name: 'baseline-replay',
    text: `SELECT request_hash, response_status FROM idempotency_keys WHERE principal_id = $1 AND key_hash = $2`,
  },
};

const send = (res, status, body, headers = {}) => {
  const json = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    ...headers,
  });
  res.end(json);
};
const refuse = (res, status, title) => send(res, status, { title, status });

const verified = new Map();
/** The token's claims, or undefined; a verified token is remembered until its `exp`, bounded like the API's. */
function claimsOf(req) {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const now = Math.floor(Date.now() / 1000);
  const known = cacheTokens ? verified.get(token) : undefined;
  if (known && now < known.exp) return known;
  try {
    const result = jwt.verify(token, key, verifyOptions);
    if (result.header.typ !== 'at+jwt') return undefined;
    if (cacheTokens) {
      if (verified.size >= 10_000) verified.delete(verified.keys().next().value);
      verified.set(token, result.payload);
    }
    return result.payload;
  } catch {
    return undefined;
  }
}

const toItem = (row) => ({
  id: row.id,
  name: row.name,
  description: row.description,
  status: row.status,
  tags: row.tags,
  metadata: row.metadata,
  owner_id: row.owner_id,
  owner_type: 'user',
  version: row.version,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

async function currentUser(req, res, claims) {
  const { rows } = await pool.query({ ...statements.principal, values: [claims.sid] });
  const row = rows[0];
  if (!row || row.revoked_at || row.id !== claims.sub || row.status !== 'active') {
    return refuse(res, 401, 'Unauthorized');
  }
  const { id, email, name, role, status, created_at, updated_at } = row;
  return send(res, 200, { id, email, name, role, status, created_at, updated_at });
}

async function getItem(req, res, claims, id) {
  const { rows } = await pool.query({ ...statements.item, values: [claims.sid, claims.sub, id] });
  const row = rows[0];
  if (!row) return refuse(res, 401, 'Unauthorized');
  if (!row.id || (row.owner_id !== row.principal_id && row.role !== 'admin'))
    return refuse(res, 404, 'Not found');
  return send(res, 200, toItem(row), { etag: `"${row.version}"` });
}

async function listItems(req, res, claims, limit) {
  const { rows } = await pool.query({ ...statements.list, values: [claims.sid, claims.sub, limit + 1] });
  if (rows.length === 0) return refuse(res, 401, 'Unauthorized');
  const items = rows.filter((row) => row.id).map(toItem);
  const more = items.length > limit;
  const page = more ? items.slice(0, limit) : items;
  const last = page.at(-1);
  const next = more
    ? Buffer.from(JSON.stringify({ s: '-created_at', v: last.created_at, id: last.id })).toString('base64url')
    : null;
  return send(res, 200, { data: page, next_cursor: next });
}

/** The idempotency record's sealing, as src/repositories/idempotency-sealing.ts does it. */
const deriveKey = (principalId, idempotencyKey, salt, purpose) =>
  Buffer.from(
    hkdfSync('sha256', Buffer.from(idempotencyKey), salt, `idempotency ${purpose} v1 ${principalId}`, 32),
  );
function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, nested]) => `${JSON.stringify(k)}:${canonicalJson(nested)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function createItem(req, res, claims) {
  const idempotencyKey = req.headers['idempotency-key'];
  const input = await readBody(req);
  if (typeof input.name !== 'string' || !idempotencyKey) return refuse(res, 400, 'Bad request');
  const fingerprint = createHash('sha256')
    .update(`POST ${req.url}\n${canonicalJson(input)}`)
    .digest('hex');
  const requestMac = createHmac('sha256', deriveKey(claims.sub, idempotencyKey, Buffer.alloc(0), 'request'))
    .update(fingerprint)
    .digest('hex');
  const now = new Date().toISOString();
  const item = {
    id: randomUUID(),
    name: input.name,
    description: input.description ?? null,
    status: input.status ?? 'draft',
    tags: input.tags ?? [],
    metadata: input.metadata ?? {},
    owner_id: claims.sub,
    owner_type: 'user',
    version: 1,
    created_at: now,
    updated_at: now,
  };
  const body = JSON.stringify(item);
  const headers = { location: `/v1/items/${item.id}`, etag: '"1"' };
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(claims.sub, idempotencyKey, salt, 'response'), iv, {
    authTagLength: 16,
  });
  cipher.setAAD(Buffer.from('status 201'));
  const sealed = Buffer.concat([
    cipher.update(JSON.stringify({ headers, body }), 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  const keyHash = createHash('sha256').update(idempotencyKey).digest('hex');
  const eventId = randomUUID();
  const { rows } = await pool.query({
    ...statements.create,
    values: [
      claims.sid,
      claims.sub,
      keyHash,
      requestMac,
      201,
      salt,
      iv,
      sealed,
      item.id,
      item.name,
      item.description,
      item.status,
      item.tags,
      JSON.stringify(item.metadata),
      now,
      randomUUID(),
      eventId,
      JSON.stringify({ id: eventId, type: 'item.created', data: item }),
    ],
  });
  const [result] = rows;
  if (Number(result.principals) === 0) return refuse(res, 401, 'Unauthorized');
  if (Number(result.items) === 1) return send(res, 201, body, headers);
  // The key was taken: a replay or a mismatch (the benchmark sends fresh keys; this is for completeness).
  const taken = await pool.query({ ...statements.replay, values: [claims.sub, keyHash] });
  return taken.rows[0]?.request_hash === requestMac
    ? refuse(res, 409, 'Replay not served by the baseline')
    : refuse(res, 422, 'Idempotency-Key reused');
}

async function patchItem(req, res, claims, id) {
  const version = Number(/^"(\d+)"$/.exec(req.headers['if-match'] ?? '')?.[1]);
  const patch = await readBody(req);
  if (!Number.isInteger(version)) return refuse(res, 428, 'If-Match required');
  const { rows } = await pool.query({
    ...statements.patch,
    values: [
      claims.sid,
      claims.sub,
      id,
      version,
      patch.name ?? null,
      patch.description ?? null,
      'description' in patch,
      patch.status ?? null,
      patch.tags ?? null,
      patch.metadata ? JSON.stringify(patch.metadata) : null,
      randomUUID(),
      randomUUID(),
    ],
  });
  const [row] = rows;
  if (Number(row.principals) === 0) return refuse(res, 401, 'Unauthorized');
  if (row.id) return send(res, 200, toItem(row), { etag: `"${row.version}"` });
  const current = (await pool.query({ ...statements.patchRefused, values: [id] })).rows[0];
  return current && current.owner_id === claims.sub
    ? refuse(res, 412, 'Precondition failed')
    : refuse(res, 404, 'Not found');
}

const ITEM_PATH = /^\/v1\/items\/([0-9a-f-]{36})$/;

function route(req, res) {
  const [path, query = ''] = (req.url ?? '').split('?');
  if (path === '/health/ready') return send(res, 200, { status: 'ok' });
  const claims = claimsOf(req);
  if (!claims) return refuse(res, 401, 'Unauthorized');
  if (path === '/v1/users/me' && req.method === 'GET') return currentUser(req, res, claims);
  if (path === '/v1/items' && req.method === 'GET') {
    const limit = Number(new URLSearchParams(query).get('limit') ?? 20);
    return listItems(req, res, claims, Math.min(Math.max(limit, 1), 100));
  }
  if (path === '/v1/items' && req.method === 'POST') return createItem(req, res, claims);
  const itemId = ITEM_PATH.exec(path)?.[1];
  if (itemId && req.method === 'GET') return getItem(req, res, claims, itemId);
  if (itemId && req.method === 'PATCH') return patchItem(req, res, claims, itemId);
  return refuse(res, 404, 'Not found');
}

const server = createServer((req, res) => {
  Promise.resolve()
    .then(() => route(req, res))
    .catch(() => refuse(res, 500, 'Internal error'));
});
server.listen(Number(process.env.BASELINE_PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => pool.end().then(() => process.exit(0)));
  server.closeAllConnections();
});
