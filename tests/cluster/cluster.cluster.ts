import request from 'supertest';
import { MIGRATIONS } from '../../migrations';
import { startCluster, uniqueClientAddress, type Cluster } from '../support/cluster';
import { createPartnerClient, createUser, passwordGrant, PASSWORD, uniqueEmail } from '../support/identity';
import { INSTANCE_HEADER, SERVED_BY_HEADER } from '../support/round-robin-proxy';

const SIZE = 3;
const AUTH_PER_IP = 40;
const AUTH_PER_ACCOUNT = 4;
const CALLER_PER_CLIENT = 20;

let cluster: Cluster;
// Users are created through the proxy: round-robin over the instances, like any client.
const target = () => ({ app: cluster.proxy.url, database: { db: cluster.db } });
const instances = () => Array.from({ length: SIZE }, (_, index) => index);
const on = (index: number) => ({ [INSTANCE_HEADER]: String(index) });
const servedBy = (response: request.Response) => Number(response.headers[SERVED_BY_HEADER]);

beforeAll(async () => {
  cluster = await startCluster({
    size: SIZE,
    env: {
      RATE_LIMIT_AUTH_PER_IP: String(AUTH_PER_IP),
      RATE_LIMIT_AUTH_PER_ACCOUNT: String(AUTH_PER_ACCOUNT),
      RATE_LIMIT_CALLER_CLIENT: String(CALLER_PER_CLIENT),
      RATE_LIMIT_CALLER_USER: '1000000',
      RATE_LIMIT_CALLER_ANONYMOUS: '1000000',
    },
  });
});

afterAll(async () => {
  await cluster?.close();
});

describe('three instances on one PostgreSQL and one Redis', () => {
  it('when three instances start at once on an empty database, then each migration runs exactly once and all three serve', async () => {
    const rows = await cluster.db('knex_migrations').select('name');
    expect(rows.map((row: { name: string }) => row.name).sort()).toEqual(MIGRATIONS.map(([name]) => name));
    const applied = await Promise.all(
      cluster.instances.map(async (instance) => {
        const line = await instance.logLine(/"msg":"migrations: \d+ applied"/);
        return (JSON.parse(line) as { applied: string[] }).applied;
      }),
    );
    // One instance took knex's lock and applied everything; the others found nothing left to do.
    expect(applied.flat().sort()).toEqual(MIGRATIONS.map(([name]) => name));
    expect(applied.filter((names) => names.length > 0)).toHaveLength(1);
    expect(await cluster.db('knex_migrations_lock').select('is_locked')).toEqual([{ is_locked: 0 }]);
    for (const index of instances()) {
      const ready = await request(cluster.proxy.url).get('/health/ready').set(on(index)).expect(200);
      expect(servedBy(ready)).toBe(index);
    }
  });

  it('when one Idempotency-Key is sent to every instance at once, then one item is created and every answer is that item', async () => {
    const user = await createUser(target());
    const key = `cluster-${uniqueEmail()}`;
    const body = { name: 'Raced item', tags: ['cluster'] };
    const post = (index: number) =>
      request(cluster.proxy.url)
        .post('/v1/items')
        .set(on(index))
        .auth(user.accessToken, { type: 'bearer' })
        .set('Idempotency-Key', key)
        .send(body);

    const answers = await Promise.all(Array.from({ length: 4 * SIZE }, (_, n) => post(n % SIZE)));

    expect(new Set(answers.map(servedBy))).toEqual(new Set(instances()));
    // The claim is in each write's transaction: the others wait on the key's unique index, then replay.
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
    const originals = answers.filter((answer) => answer.headers['idempotent-replayed'] !== 'true');
    expect(originals).toHaveLength(1);
    expect(new Set(answers.map((answer) => answer.text))).toEqual(new Set([originals[0]!.text]));
    const id = (originals[0]!.body as { id: string }).id;
    expect(await cluster.db('items').where({ owner_user_id: user.id }).pluck('id')).toEqual([id]);
    expect(
      await cluster.db('audit_events').where({ resource_id: id, action: 'item.created' }).count(),
    ).toEqual([{ count: '1' }]);
    // Once it has finished, every instance replays the same response.
    for (const index of instances()) {
      const replayed = await post(index).expect(201);
      expect(replayed.headers['idempotent-replayed']).toBe('true');
      expect(replayed.text).toBe(originals[0]!.text);
    }
  });

  it('when requests from one address alternate over the instances, then they share one per-address limit', async () => {
    const address = uniqueClientAddress();
    const statuses: number[] = [];
    const servers = new Set<number>();
    // Each instance sees a third of them, well under the limit: only shared counters can refuse any.
    for (let n = 0; n < AUTH_PER_IP + 10; n += 1) {
      const answer = await request(cluster.proxy.url)
        .post('/v1/auth/token')
        .set('X-Forwarded-For', address)
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: 'rt_not-a-token' });
      statuses.push(answer.status);
      servers.add(servedBy(answer));
    }
    expect(servers).toEqual(new Set(instances()));
    expect(statuses).toEqual([
      ...Array.from({ length: AUTH_PER_IP }, () => 400),
      ...Array.from({ length: 10 }, () => 429),
    ]);
  });

  it("when a partner client's requests alternate over the instances, then they spend one caller budget", async () => {
    const admin = await createUser(target(), { role: 'admin' });
    const client = await createPartnerClient(target(), admin);
    const answers: request.Response[] = [];
    // A list page costs 5 points: 4 fit in the budget of 20. Each instance alone would allow 4 of its own.
    for (let n = 0; n < 9; n += 1) {
      answers.push(
        await request(cluster.proxy.url)
          .get('/v1/items?limit=1')
          .auth(client.accessToken, { type: 'bearer' }),
      );
    }
    expect(new Set(answers.map(servedBy))).toEqual(new Set(instances()));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 429, 429, 429, 429, 429]);
    expect(
      answers.slice(0, 4).map((answer) => /"caller"; r=(\d+);/.exec(answer.headers.ratelimit as string)?.[1]),
    ).toEqual(['15', '10', '5', '0']);
  });

  it('when wrong passwords for one account alternate over the instances, then they share one failure limit', async () => {
    const user = await createUser(target());
    const address = uniqueClientAddress();
    const statuses: number[] = [];
    for (let n = 0; n < AUTH_PER_ACCOUNT + 3; n += 1) {
      const answer = await passwordGrant(cluster.proxy.url, user.email, 'wrong-password-42')
        .set(on(n % SIZE))
        .set('X-Forwarded-For', address);
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([
      ...Array.from({ length: AUTH_PER_ACCOUNT }, () => 400),
      ...Array.from({ length: 3 }, () => 429),
    ]);
    // Even the right password waits out the window from that address, on any instance.
    await passwordGrant(cluster.proxy.url, user.email, PASSWORD)
      .set(on(0))
      .set('X-Forwarded-For', address)
      .expect(429);
  });

  it('when one refresh token is sent to every instance at once, then exactly one succeeds and the reuse ends the session', async () => {
    const user = await createUser(target());
    const refresh = (index: number) =>
      request(cluster.proxy.url)
        .post('/v1/auth/token')
        .set(on(index))
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: user.refreshToken });

    const answers = await Promise.all(instances().map(refresh));

    expect(answers.map(servedBy)).toEqual(instances());
    const granted = answers.filter((answer) => answer.status === 200);
    expect(granted).toHaveLength(1);
    for (const refused of answers.filter((answer) => answer.status !== 200)) {
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_grant');
    }
    const [session] = await cluster.db('auth_sessions').where({ user_id: user.id });
    expect(session.revoked_at).not.toBeNull();
    const tokens = await cluster.db('refresh_tokens').where({ session_id: session.id });
    expect(tokens).toHaveLength(2); // the raced one, used once, and the one the winner received
    expect(tokens.filter((token: { used_at: Date | null }) => token.used_at !== null)).toHaveLength(1);
    // A reused refresh token means it leaked: what the winner received is dead too, everywhere.
    const winner = granted[0]!.body as { access_token: string; refresh_token: string };
    for (const index of instances()) {
      await request(cluster.proxy.url)
        .get('/v1/users/me')
        .set(on(index))
        .auth(winner.access_token, { type: 'bearer' })
        .expect(401);
    }
    await request(cluster.proxy.url)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: winner.refresh_token })
      .expect(400);
  });

  /** `GET /v1/users/me` with `accessToken`, sent to instance `index`. */
  const currentUserOn = (index: number, accessToken: string) =>
    request(cluster.proxy.url).get('/v1/users/me').set(on(index)).auth(accessToken, { type: 'bearer' });

  it('when a token is revoked on one instance, then every instance refuses it on the very next request', async () => {
    const user = await createUser(target());
    const me = (index: number) => currentUserOn(index, user.accessToken);
    // One signing key: a token from any instance is good on all, and each has now verified and cached it.
    for (const index of instances()) await me(index).expect(200);

    await request(cluster.proxy.url)
      .post('/v1/auth/revoke')
      .set(on(0))
      .type('form')
      .send({ token: user.accessToken })
      .expect(200);

    for (const index of instances()) {
      const refused = await me(index).expect(401);
      expect(refused.body.error).toBe('invalid_token');
    }
    const [session] = await cluster.db('auth_sessions').where({ user_id: user.id });
    expect(session.revoked_at).not.toBeNull();
  });

  it('when an administrator disables a user on one instance, then every instance refuses the user at once', async () => {
    const admin = await createUser(target(), { role: 'admin' });
    const user = await createUser(target());
    const me = (index: number) => currentUserOn(index, user.accessToken);
    for (const index of instances()) await me(index).expect(200);

    await request(cluster.proxy.url)
      .patch(`/v1/users/${user.id}`)
      .set(on(1))
      .auth(admin.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"')
      .send({ status: 'disabled' })
      .expect(200);

    for (const index of instances()) {
      await me(index).expect(401);
      const signIn = await passwordGrant(cluster.proxy.url, user.email, PASSWORD).set(on(index)).expect(400);
      expect(signIn.body.error).toBe('invalid_grant');
    }
    expect(await cluster.db('users').where({ id: user.id }).first('status')).toEqual({ status: 'disabled' });
    expect(
      await cluster.db('auth_sessions').where({ user_id: user.id }).whereNull('revoked_at').count(),
    ).toEqual([{ count: '0' }]);
  });
});
