import { createHmac, generateKeyPairSync, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import request, { type Response } from 'supertest';
import { expectProblem } from '../support/contract';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * A deployment that trusts an external identity provider: its keys come from a JWKS URL that this file serves
 * from a local server, so every fetch the API makes can be counted.
 */

const EXTERNAL_ISSUER = 'https://idp.example.test/';
const EXTERNAL_AUDIENCE = 'partner-api-external';

interface RsaKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: JsonWebKey;
}

function rsaKey(kid: string): RsaKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
  };
}

const base64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A node:http server on an ephemeral port that counts requests by URL and answers with `respond`. */
interface CountingServer {
  server: Server;
  url(path: string): string;
  hits(path?: string): number;
  close(): Promise<void>;
}

async function startServer(respond: (path: string, res: ServerResponse) => void): Promise<CountingServer> {
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    respond(path, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits: (path) =>
      path === undefined ? [...counts.values()].reduce((sum, n) => sum + n, 0) : (counts.get(path) ?? 0),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

const idpKey = rsaKey('idp-key-1');
const attackerKey = rsaKey('attacker-key-1');

function externalToken(
  options: {
    key?: RsaKey;
    kid?: string;
    header?: Record<string, unknown>;
    payload?: Record<string, unknown>;
  } = {},
): string {
  const key = options.key ?? idpKey;
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign(
    {
      iss: EXTERNAL_ISSUER,
      aud: EXTERNAL_AUDIENCE,
      sub: `ext-${randomUUID()}`,
      iat: now,
      exp: now + 3600,
      ...options.payload,
    },
    key.privateKey,
    { algorithm: 'RS256', header: { alg: 'RS256', kid: options.kid ?? key.kid, ...options.header } },
  );
}

function expectInvalidToken(res: Response): void {
  const problem = expectProblem(res, 401, 'unauthorized');
  expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  expect(problem.error).toBe('invalid_token');
}

describe('external identity provider tokens', () => {
  let idp: CountingServer;
  let attacker: CountingServer;
  const hanging: ServerResponse[] = [];
  const apps: TestApp[] = [];

  /**
   * An app whose external JWKS URI is `path` on the local identity provider. Its first request is made
   * here, so a test that times a request times that request, not the validator's one-off set-up.
   */
  const appWithJwksAt = async (path: string, env: Record<string, string> = {}): Promise<TestApp> => {
    const t = await createTestApp({
      env: {
        AUTH_EXTERNAL_ISSUER: EXTERNAL_ISSUER,
        AUTH_EXTERNAL_JWKS_URI: idp.url(path),
        AUTH_EXTERNAL_AUDIENCE: EXTERNAL_AUDIENCE,
        ...env,
      },
    });
    apps.push(t);
    await request(t.app).get('/health/live').expect(200);
    return t;
  };

  const getMe = (t: TestApp, token: string) =>
    request(t.app).get('/v1/users/me').auth(token, { type: 'bearer' });

  beforeAll(async () => {
    idp = await startServer((path, res) => {
      if (path.startsWith('/jwks/')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [idpKey.jwk] }));
      } else if (path.startsWith('/hang/')) {
        hanging.push(res); // accepted, never answered
      } else if (path.startsWith('/garbage/')) {
        res.setHeader('content-type', 'application/json');
        res.end('<html>definitely not a key set</html>');
      } else if (path.startsWith('/not-a-key-set/')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: 'nope' }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    attacker = await startServer((_path, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [attackerKey.jwk] }));
    });
  });

  afterAll(async () => {
    await Promise.all(apps.map((t) => t.close()));
    await Promise.all([idp.close(), attacker.close()]);
  });

  // An app a test made for itself is closed after it, so the next test's app reuses its database.
  let appsBeforeTest = 0;
  beforeEach(() => {
    appsBeforeTest = apps.length;
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(apps.splice(appsBeforeTest).map((t) => t.close()));
  });

  describe('with a working identity provider', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await appWithJwksAt('/jwks/working');
    });

    it('when a valid external token is presented, then 200 and a user (role user, no email) linked to issuer and subject is created', async () => {
      const sub = `ext-${randomUUID()}`;

      const res = await getMe(t, externalToken({ payload: { sub, name: 'Grace Hopper' } }));

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ role: 'user', email: null, name: 'Grace Hopper', status: 'active' });
      const identities = await t.database
        .db('external_identities')
        .where({ issuer: EXTERNAL_ISSUER, subject: sub });
      expect(identities).toHaveLength(1);
      expect(identities[0].user_id).toBe(res.body.id);
      const user = await t.database.db('users').where({ id: res.body.id }).first();
      expect(user).toMatchObject({ role: 'user', email: null, password_hash: null });
      expect(await t.database.db('audit_events').where({ resource_id: res.body.id })).toEqual([
        expect.objectContaining({
          actor_type: 'user',
          actor_id: res.body.id,
          action: 'user.created',
          resource_type: 'user',
          request_id: res.headers['x-request-id'],
          details: { via: 'external_identity_provider', issuer: EXTERNAL_ISSUER },
        }),
      ]);
    });

    it('when the same subject comes back, then its user is reused and no second row is created', async () => {
      const sub = `ext-${randomUUID()}`;
      const first = await getMe(t, externalToken({ payload: { sub } })).expect(200);
      const usersBefore = await t.database.db('users').count<Array<{ count: number }>>('* as count');

      const second = await getMe(t, externalToken({ payload: { sub } }));

      expect(second.status).toBe(200);
      expect(second.body.id).toBe(first.body.id);
      const usersAfter = await t.database.db('users').count<Array<{ count: number }>>('* as count');
      expect(Number(usersAfter[0]!.count)).toBe(Number(usersBefore[0]!.count));
      expect(await t.database.db('external_identities').where({ subject: sub })).toHaveLength(1);
    });

    it('when several first requests for one new subject race, then all succeed with one and the same user', async () => {
      const sub = `ext-${randomUUID()}`;

      const results = await Promise.all(
        Array.from({ length: 4 }, () => getMe(t, externalToken({ payload: { sub } }))),
      );

      expect(results.map((res) => res.status)).toEqual([200, 200, 200, 200]);
      expect(new Set(results.map((res) => res.body.id as string)).size).toBe(1);
      expect(await t.database.db('external_identities').where({ subject: sub })).toHaveLength(1);
      expect(await t.database.db('users').where({ id: results[0]!.body.id })).toHaveLength(1);
      // The losers' accounts rolled back with their audit rows: one user, one user.created.
      expect(
        await t.database
          .db('audit_events')
          .where({ action: 'user.created', resource_id: results[0]!.body.id }),
      ).toHaveLength(1);
      expect(
        await t.database
          .db('audit_events')
          .where({ action: 'user.created' })
          .whereNotIn('resource_id', t.database.db('users').select(t.database.db.raw('id::text'))),
      ).toEqual([]);
    });

    it('when the audience is another one, then 401 invalid_token', async () => {
      const res = await getMe(t, externalToken({ payload: { aud: 'someone-else' } }));

      expectInvalidToken(res);
    });

    it('when the token expired, then 401 invalid_token', async () => {
      const now = Math.floor(Date.now() / 1000);

      const res = await getMe(t, externalToken({ payload: { iat: now - 7200, exp: now - 60 } }));

      expectInvalidToken(res);
    });

    it('when the token has no exp, or says it was issued an hour from now, then 401 invalid_token and no user is created', async () => {
      const now = Math.floor(Date.now() / 1000);
      const sub = `ext-${randomUUID()}`;
      const withoutExp = jwt.sign(
        { iss: EXTERNAL_ISSUER, aud: EXTERNAL_AUDIENCE, sub, iat: now },
        idpKey.privateKey,
        { algorithm: 'RS256', header: { alg: 'RS256', kid: idpKey.kid } },
      );

      expectInvalidToken(await getMe(t, withoutExp));
      expectInvalidToken(
        await getMe(t, externalToken({ payload: { sub, iat: now + 3600, exp: now + 7200 } })),
      );
      expect(await t.database.db('external_identities').where({ subject: sub })).toHaveLength(0);
    });

    it('when the token is HS256 signed with the RSA public key as HMAC secret, then 401 invalid_token', async () => {
      const header = { alg: 'HS256', typ: 'JWT', kid: idpKey.kid };
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: EXTERNAL_ISSUER,
        aud: EXTERNAL_AUDIENCE,
        sub: `ext-${randomUUID()}`,
        iat: now,
        exp: now + 600,
      };
      const signingInput = `${base64url(header)}.${base64url(payload)}`;
      const results: Response[] = [];
      for (const secret of [
        idpKey.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
        idpKey.publicKey.export({ format: 'pem', type: 'pkcs1' }).toString(),
        JSON.stringify(idpKey.jwk),
      ]) {
        const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
        results.push(await getMe(t, `${signingInput}.${signature}`));
      }

      for (const res of results) expectInvalidToken(res);
      expect(await t.database.db('external_identities').where({ subject: payload.sub })).toHaveLength(0);
    });

    it('when the external user is disabled in the database, then their token is refused at once', async () => {
      const sub = `ext-${randomUUID()}`;
      const token = externalToken({ payload: { sub } });
      const first = await getMe(t, token).expect(200);
      await t.database.db('users').where({ id: first.body.id }).update({ status: 'disabled' });

      const res = await getMe(t, token);

      expectInvalidToken(res);
    });

    it.each([
      ['jku', () => ({ jku: attacker.url('/jwks.json') })],
      ['x5u', () => ({ x5u: attacker.url('/cert.pem') })],
      ['jwk', () => ({ jwk: attackerKey.jwk })],
      [
        'jku, x5u and jwk',
        () => ({ jku: attacker.url('/jwks.json'), x5u: attacker.url('/cert.pem'), jwk: attackerKey.jwk }),
      ],
    ])(
      'when the header carries %s pointing at an attacker key, then 401 and the attacker is never contacted',
      async (_label, header) => {
        const token = externalToken({ key: attackerKey, header: header() });

        const res = await getMe(t, token);

        expectInvalidToken(res);
        expect(attacker.hits()).toBe(0);
      },
    );

    it('when the header embeds the attacker key as jwk under the real kid, then 401 invalid_token', async () => {
      const token = externalToken({ key: attackerKey, kid: idpKey.kid, header: { jwk: attackerKey.jwk } });

      const res = await getMe(t, token);

      expectInvalidToken(res);
      expect(attacker.hits()).toBe(0);
    });
  });

  describe('key rotation at the identity provider', () => {
    it('when a kid is unknown, then the JWKS is refetched once and 401; a second unknown kid within the cooldown does not refetch', async () => {
      const path = '/jwks/rotation';
      const t = await appWithJwksAt(path);
      await getMe(t, externalToken()).expect(200);
      expect(idp.hits(path)).toBe(1);
      // The key set was fetched just now; step past the 60 s cooldown without waiting for it.
      const realNow = Date.now.bind(Date);
      jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 61_000);

      const unknownKid = await getMe(t, externalToken({ kid: 'rotated-in-1' }));

      expectInvalidToken(unknownKid);
      expect(idp.hits(path)).toBe(2);

      const anotherUnknownKid = await getMe(t, externalToken({ kid: 'rotated-in-2' }));

      expectInvalidToken(anotherUnknownKid);
      expect(idp.hits(path)).toBe(2);
      // The known key still works from the cache, without another fetch.
      await getMe(t, externalToken()).expect(200);
      expect(idp.hits(path)).toBe(2);
    });
  });

  describe('with a failing identity provider', () => {
    it('when the JWKS server accepts the request and never answers, then 401 within the configured timeout, not 500 and no hang', async () => {
      const path = '/hang/slow';
      const t = await appWithJwksAt(path, { AUTH_EXTERNAL_JWKS_TIMEOUT_MS: '300' });
      const started = performance.now();

      const res = await getMe(t, externalToken());

      const elapsed = performance.now() - started;
      expectInvalidToken(res);
      expect(idp.hits(path)).toBe(1);
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(5000);
    });

    it.each([
      ['is not JSON', '/garbage/html'],
      ['is JSON but not a key set', '/not-a-key-set/json'],
    ])('when the JWKS response %s, then 401 invalid_token', async (_label, path) => {
      const t = await appWithJwksAt(path);

      const res = await getMe(t, externalToken());

      expectInvalidToken(res);
      expect(idp.hits(path)).toBeGreaterThanOrEqual(1);
      expect(await t.database.db('external_identities')).toHaveLength(0);
    });
  });
});
