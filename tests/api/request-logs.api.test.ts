import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { createRecordRetention } from '../../src/services/record-retention';
import { IdempotencyRepository } from '../../src/repositories/idempotency.repository';
import { RequestLogsRepository } from '../../src/repositories/request-logs.repository';
import { createPartnerClient, createUser, type TestClient, type TestUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';
import pino from 'pino';
import { LATEST_API_VERSION } from '../../src/versions/catalog';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const PARTNER_SCOPES = ['items:read', 'items:write', 'logs:read'];

interface Entry {
  id: string;
  caller_id: string;
  operation_id: string;
  route: string;
  status: number;
  problem_type: string | null;
  errors: Array<{ location: string; pointer: string }>;
  request_id: string;
  idempotency_key_sha256: string | null;
}

describe('the request log (GET /v1/request-logs)', () => {
  let t: TestApp;
  let admin: TestUser;
  let partner: TestClient;
  let otherPartner: TestClient;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await createUser(t, { role: 'admin' });
    partner = await createPartnerClient(t, admin, PARTNER_SCOPES);
    otherPartner = await createPartnerClient(t, admin, PARTNER_SCOPES);
  });
  afterAll(() => t.close());

  const logOf = async (token: string, query: Record<string, string> = {}) => {
    await t.requestLog.flush();
    const res = await request(t.app).get('/v1/request-logs').query(query).set(bearer(token)).expect(200);
    return res.body as { data: Entry[]; next_cursor: string | null };
  };

  it("when a partner's call fails validation, then its own log shows it with the pointer and another partner's does not", async () => {
    const key = randomUUID();
    const failed = await request(t.app)
      .post('/v1/items')
      .set(bearer(partner.accessToken))
      .set('Idempotency-Key', key)
      .send({ name: '' })
      .expect(400);

    const own = await logOf(partner.accessToken, { status_class: '4xx' });
    const entry = own.data.find((row) => row.request_id === failed.body.request_id);
    expect(entry).toEqual({
      id: expect.any(String),
      occurred_at: expect.any(String),
      caller_type: 'client',
      caller_id: partner.clientId,
      operation_id: 'createItem',
      method: 'POST',
      route: '/v1/items',
      status: 400,
      problem_type: '/problems/validation-error',
      errors: [{ location: 'body', pointer: '/name' }],
      duration_ms: expect.any(Number),
      request_id: failed.body.request_id,
      idempotency_key_sha256: createHash('sha256').update(key).digest('hex'),
      api_version: LATEST_API_VERSION,
      client_address: expect.stringMatching(/^[0-9a-f.:]+$/i),
    });
    // Never the body nor the key itself.
    expect(JSON.stringify(own)).not.toContain(key);

    const other = await logOf(otherPartner.accessToken);
    expect(other.data.map((row) => row.request_id)).not.toContain(failed.body.request_id);
    expect(other.data.every((row) => row.caller_id === otherPartner.clientId)).toBe(true);
  });

  it('when a partner names another caller, then it is refused, and an administrator may read anyone by caller_id', async () => {
    await request(t.app).get('/v1/items').set(bearer(otherPartner.accessToken)).expect(200);
    await t.requestLog.flush();
    const refused = await request(t.app)
      .get('/v1/request-logs')
      .query({ caller_id: otherPartner.clientId })
      .set(bearer(partner.accessToken))
      .expect(403);
    expect(refused.body.type).toBe('/problems/forbidden');

    const seen = await logOf(admin.accessToken, {
      caller_id: otherPartner.clientId,
      operation_id: 'listItems',
    });
    expect(seen.data.length).toBeGreaterThan(0);
    expect(seen.data.every((row) => row.caller_id === otherPartner.clientId)).toBe(true);
    expect(seen.data.every((row) => row.operation_id === 'listItems' && row.status === 200)).toBe(true);
  });

  it('when the log spans pages, then the cursor walks it and refuses other filters', async () => {
    const user = await createUser(t);
    for (let i = 0; i < 3; i += 1) await request(t.app).get('/v1/users/me').set(bearer(user.accessToken));
    const first = await logOf(user.accessToken, { limit: '2', operation_id: 'getCurrentUser' });
    expect(first.data).toHaveLength(2);
    expect(first.next_cursor).not.toBeNull();
    const second = await logOf(user.accessToken, {
      limit: '2',
      operation_id: 'getCurrentUser',
      cursor: first.next_cursor!,
    });
    expect(second.data).toHaveLength(1);
    expect(new Set([...first.data, ...second.data].map((row) => row.id)).size).toBe(3);
    await request(t.app)
      .get('/v1/request-logs')
      .query({ limit: '2', cursor: first.next_cursor! })
      .set(bearer(user.accessToken))
      .expect(400);
  });

  it('when a token lacks logs:read, then the log is refused', async () => {
    const narrow = await createUser(t, { scope: 'items:read' });
    await request(t.app).get('/v1/request-logs').set(bearer(narrow.accessToken)).expect(403);
  });

  it('when entries pass the retention, then they are not listed and the sweep deletes them', async () => {
    const user = await createUser(t);
    const repository = new RequestLogsRepository({ db: t.database.db });
    const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60 * 1000).toISOString();
    const row = (days: number) => ({
      occurred_at: daysAgo(days),
      caller_type: 'user' as const,
      caller_id: user.id,
      operation_id: 'listItems',
      method: 'GET' as const,
      route: '/v1/items',
      status: 200,
      problem_type: null,
      errors: [],
      duration_ms: 1,
      request_id: `old-${days}`,
      idempotency_key_sha256: null,
      api_version: null,
      client_address: null,
    });
    await repository.insertMany([row(31), row(29)]);

    const listed = await logOf(user.accessToken, { operation_id: 'listItems' });
    expect(listed.data.map((entry) => entry.request_id)).toEqual(['old-29']);

    await createRecordRetention({
      idempotency: new IdempotencyRepository({ db: t.database.db, abandonedAfterSeconds: 120 }),
      requestLogs: { repository, retentionDays: t.config.requestLog.retentionDays },
      logger: pino({ level: 'silent' }),
    }).sweep();
    const left = await t.database.db('request_logs').where({ caller_id: user.id }).pluck('request_id');
    expect(left).toEqual(['old-29']);
  });
});
