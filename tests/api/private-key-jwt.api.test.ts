import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';
import request from 'supertest';
import { expectProblem, expectSchema } from '../support/contract';
import { createUser, type TestUser } from '../support/identity';
import { countAuditEvents, createTestApp, TEST_BASE_URL, type TestApp } from '../support/test-app';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TOKEN_ENDPOINT = `${TEST_BASE_URL}/v1/auth/token`;

interface KeyPair {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function keyPair(alg = 'ES256'): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), alg, use: 'sig', kid: randomUUID() } };
}

/** A client assertion as RFC 7523 wants it unless `overrides` says otherwise (`undefined` leaves a claim out). */
async function assertion(
  clientId: string,
  key: KeyPair,
  overrides: { aud?: string; exp?: number | undefined; jti?: string | undefined; iss?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: overrides.iss ?? clientId,
    sub: clientId,
    aud: overrides.aud ?? TOKEN_ENDPOINT,
    iat: now,
    exp: 'exp' in overrides ? overrides.exp : now + 60,
    jti: 'jti' in overrides ? overrides.jti : randomUUID(),
  };
  for (const name of Object.keys(claims)) if (claims[name] === undefined) delete claims[name];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.jwk.alg!, kid: key.jwk.kid! })
    .sign(key.privateKey);
}

function unsigned(claims: Record<string, unknown>, header: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(claims)}.`;
}

function tokenWithAssertion(t: TestApp, clientAssertion: string, extra: Record<string, string> = {}) {
  return request(t.app)
    .post('/v1/auth/token')
    .type('form')
    .send({
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: clientAssertion,
      ...extra,
    });
}

function createClient(t: TestApp, admin: TestUser, body: Record<string, unknown>) {
  return request(t.app)
    .post('/v1/clients')
    .auth(admin.accessToken, { type: 'bearer' })
    .send({ name: 'Signer', scopes: ['items:read'], ...body });
}

async function sessionsOf(t: TestApp, clientId: string): Promise<number> {
  const [row] = await t.database
    .db('auth_sessions')
    .where({ client_id: clientId })
    .count<[{ count: string }]>('* as count');
  return Number(row!.count);
}

async function failureReasons(t: TestApp, clientId: string): Promise<string[]> {
  const rows = await t.database
    .db('audit_events')
    .where({ action: 'auth.sign_in_failed', resource_id: clientId })
    .orderBy('id')
    .select('details');
  return rows.map((row: { details: { reason: string } }) => row.details.reason);
}

describe('private_key_jwt client authentication (RFC 7523)', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await createUser(t, { role: 'admin' });
  });
  afterAll(() => t.close());

  async function jwtClient(key: KeyPair): Promise<string> {
    const res = await createClient(t, admin, {
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.jwk] },
    });
    expect(res.status).toBe(201);
    return res.body.client_id as string;
  }

  it('when an admin registers a client with an inline public JWK set, then it is stored with its keys and no secret', async () => {
    const key = await keyPair();

    const res = await createClient(t, admin, {
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.jwk] },
    });

    expect(res.status).toBe(201);
    expectSchema('ClientWithSecret', res.body);
    expect(res.body).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.jwk] },
    });
    expect(res.body.client_secret).toBeUndefined();
    const row = await t.database.db('oauth_clients').where({ id: res.body.client_id }).first();
    expect(row).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      secret_hash: null,
      jwks_uri: null,
    });
    expect(row.jwks).toEqual({ keys: [key.jwk] });
  });

  it.each(['ES256', 'RS256', 'PS256', 'EdDSA'])(
    'when the client signs its assertion with %s, then it gets a token with its scopes and one session',
    async (alg) => {
      const key = await keyPair(alg);
      const clientId = await jwtClient(key);

      const res = await tokenWithAssertion(t, await assertion(clientId, key));

      expect(res.status).toBe(200);
      expectSchema('TokenResponse', res.body);
      expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'items:read' });
      expect(res.body.refresh_token).toBeUndefined();
      expect(await sessionsOf(t, clientId)).toBe(1);
      expect(await countAuditEvents(t, clientId, 'auth.signed_in')).toBe(1);
      const me = await request(t.app).get('/v1/items').auth(res.body.access_token, { type: 'bearer' });
      expect(me.status).toBe(200);
    },
  );

  it('when the audience is the issuer identifier, then the assertion is accepted too', async () => {
    const key = await keyPair();
    const clientId = await jwtClient(key);

    const res = await tokenWithAssertion(t, await assertion(clientId, key, { aud: t.config.auth.issuer }));

    expect(res.status).toBe(200);
  });

  it('when the same assertion is presented twice, then the second is refused 401 and opens no session', async () => {
    const key = await keyPair();
    const clientId = await jwtClient(key);
    const signed = await assertion(clientId, key);
    await tokenWithAssertion(t, signed).expect(200);

    const replay = await tokenWithAssertion(t, signed);

    expectProblem(replay, 401, 'unauthorized');
    expect(replay.body.error).toBe('invalid_client');
    expect(await sessionsOf(t, clientId)).toBe(1);
    expect(await failureReasons(t, clientId)).toEqual(['assertion_replayed']);
    const spent: Array<{ expires_at: Date }> = await t.database
      .db('oauth_client_assertion_jtis')
      .where({ client_id: clientId });
    expect(spent).toHaveLength(1);
    expect(spent[0]!.expires_at.getTime()).toBeGreaterThan(Date.now());
  });

  it('when the same assertion is presented twice at once, then exactly one gets a token', async () => {
    const key = await keyPair();
    const clientId = await jwtClient(key);
    const signed = await assertion(clientId, key);

    const answers = await Promise.all([tokenWithAssertion(t, signed), tokenWithAssertion(t, signed)]);

    expect(answers.map((res) => res.status).sort()).toEqual([200, 401]);
    expect(await sessionsOf(t, clientId)).toBe(1);
  });

  it('when a grant with a fresh assertion fails after authentication (scope not granted), then its jti stays unspent', async () => {
    const key = await keyPair();
    const clientId = await jwtClient(key);
    const signed = await assertion(clientId, key);

    await tokenWithAssertion(t, signed, { scope: 'items:write' }).expect(400);

    expect(await t.database.db('oauth_client_assertion_jtis').where({ client_id: clientId })).toEqual([]);
    await tokenWithAssertion(t, signed).expect(200);
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each<[string, (clientId: string, key: KeyPair, other: KeyPair) => Promise<string> | string]>([
    [
      'the audience is another server',
      (id, key) => assertion(id, key, { aud: 'https://other.example/token' }),
    ],
    ['it expired', (id, key) => assertion(id, key, { exp: now() - 120 })],
    ['it has no exp', (id, key) => assertion(id, key, { exp: undefined })],
    ['it lives longer than 5 minutes', (id, key) => assertion(id, key, { exp: now() + 3600 })],
    ['it has no jti', (id, key) => assertion(id, key, { jti: undefined })],
    ['iss is not the client', (id, key) => assertion(id, key, { iss: randomUUID() })],
    [
      'another key signed it',
      async (id, _key, other) => assertion(id, { ...other, jwk: { ...other.jwk, kid: 'x' } }),
    ],
    [
      'alg is none',
      (id) =>
        unsigned(
          { iss: id, sub: id, aud: TOKEN_ENDPOINT, exp: now() + 60, jti: randomUUID() },
          { alg: 'none' },
        ),
    ],
    [
      'alg is HS256 keyed with the public key',
      async (id, key) =>
        new SignJWT({ jti: randomUUID() })
          .setProtectedHeader({ alg: 'HS256', kid: key.jwk.kid! })
          .setIssuer(id)
          .setSubject(id)
          .setAudience(TOKEN_ENDPOINT)
          .setExpirationTime('1m')
          .sign(Buffer.from(JSON.stringify(key.jwk))),
    ],
  ])('when %s, then 401 invalid_client, no session and a failed sign-in is audited', async (_case, make) => {
    const key = await keyPair();
    const other = await keyPair();
    const clientId = await jwtClient(key);
    const signed = await make(clientId, key, other);

    const res = await tokenWithAssertion(t, signed);

    expectProblem(res, 401, 'unauthorized');
    expect(res.body.error).toBe('invalid_client');
    expect(await sessionsOf(t, clientId)).toBe(0);
    expect(await t.database.db('oauth_client_assertion_jtis').where({ client_id: clientId })).toEqual([]);
    // `iss` names another client: the refusal is about the client `sub` and `iss` would both have to name.
    expect(await failureReasons(t, clientId)).toEqual(
      _case === 'iss is not the client' ? [] : ['invalid_assertion'],
    );
  });

  it('when a private_key_jwt client sends a secret instead, then 401 and the reason is the wrong method', async () => {
    const key = await keyPair();
    const clientId = await jwtClient(key);

    const res = await request(t.app)
      .post('/v1/auth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'cs_guess' });

    expectProblem(res, 401, 'unauthorized');
    expect(await sessionsOf(t, clientId)).toBe(0);
    expect(await failureReasons(t, clientId)).toEqual(['wrong_auth_method']);
  });

  it('when a secret client sends an assertion, then 401 and the reason is the wrong method', async () => {
    const key = await keyPair();
    const created = await createClient(t, admin, {}).expect(201);
    const clientId = created.body.client_id as string;

    const res = await tokenWithAssertion(t, await assertion(clientId, key));

    expectProblem(res, 401, 'unauthorized');
    expect(await sessionsOf(t, clientId)).toBe(0);
    expect(await failureReasons(t, clientId)).toEqual(['wrong_auth_method']);
  });

  it('when an assertion comes with a client secret too, then 400: one method only', async () => {
    const key = await keyPair();
    const clientId = await jwtClient(key);

    const res = await tokenWithAssertion(t, await assertion(clientId, key), {
      client_secret: 'cs_x',
      client_id: clientId,
    });

    expectProblem(res, 400, 'oauth-error');
    expect(await sessionsOf(t, clientId)).toBe(0);
  });

  it('when the assertion type is not jwt-bearer, then 400 and no session', async () => {
    const key = await keyPair();
    const clientId = await jwtClient(key);

    const res = await tokenWithAssertion(t, await assertion(clientId, key), {
      client_assertion_type: 'urn:other',
    });

    expectProblem(res, 400, 'validation-error');
    expect(await sessionsOf(t, clientId)).toBe(0);
  });

  it('when the private_key_jwt client is asked to rotate a secret, then 409 and nothing changes', async () => {
    const key = await keyPair();
    const clientId = await jwtClient(key);

    const res = await request(t.app)
      .post(`/v1/clients/${clientId}/secret`)
      .auth(admin.accessToken, { type: 'bearer' })
      .set('If-Match', '"1"');

    expectProblem(res, 409, 'conflict');
    expect(await t.database.db('oauth_clients').where({ id: clientId }).first()).toMatchObject({
      version: 1,
      secret_hash: null,
    });
  });

  it('when a private_key_jwt client revokes its token with an assertion, then its session ends; the same assertion again is refused', async () => {
    const key = await keyPair();
    const clientId = await jwtClient(key);
    const token = await tokenWithAssertion(t, await assertion(clientId, key)).expect(200);
    const revocation = {
      token: token.body.access_token as string,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(clientId, key),
    };

    await request(t.app).post('/v1/auth/revoke').type('form').send(revocation).expect(200);
    const replay = await request(t.app).post('/v1/auth/revoke').type('form').send(revocation);

    const [session] = await t.database.db('auth_sessions').where({ client_id: clientId });
    expect(session.revoked_at).not.toBeNull();
    expect(await countAuditEvents(t, clientId, 'auth.session_revoked')).toBe(1);
    expectProblem(replay, 401, 'unauthorized');
  });

  describe("replacing a client's keys (PATCH /v1/clients/{id}, If-Match)", () => {
    const patchKeys = (clientId: string, body: Record<string, unknown>, ifMatch: string | null = '"1"') => {
      const req = request(t.app)
        .patch(`/v1/clients/${clientId}`)
        .auth(admin.accessToken, { type: 'bearer' })
        .set('Content-Type', 'application/merge-patch+json');
      return (ifMatch === null ? req : req.set('If-Match', ifMatch)).send(body);
    };

    it('when an admin replaces the JWK set, then the new key works, the old one is refused, and the change is audited', async () => {
      const [oldKey, newKey] = [await keyPair(), await keyPair()];
      const clientId = await jwtClient(oldKey);

      const res = await patchKeys(clientId, { jwks: { keys: [newKey.jwk] } });

      expect(res.status).toBe(200);
      expectSchema('Client', res.body);
      expect(res.headers.etag).toBe('"2"');
      expect(res.body).toMatchObject({ version: 2, jwks: { keys: [newKey.jwk] } });
      expect(await countAuditEvents(t, clientId, 'client.keys_updated')).toBe(1);
      expectProblem(await tokenWithAssertion(t, await assertion(clientId, oldKey)), 401, 'unauthorized');
      await tokenWithAssertion(t, await assertion(clientId, newKey)).expect(200);
    });

    it('when the new JWKS URL points at a private address, then 400 and the client is unchanged', async () => {
      const key = await keyPair();
      const clientId = await jwtClient(key);

      const res = await patchKeys(clientId, { jwks_uri: 'https://169.254.169.254/latest/jwks' });

      expectProblem(res, 400, 'validation-error');
      const row = await t.database.db('oauth_clients').where({ id: clientId }).first();
      expect(row).toMatchObject({ version: 1, jwks_uri: null, jwks: { keys: [key.jwk] } });
      expect(await countAuditEvents(t, clientId, 'client.keys_updated')).toBe(0);
    });

    it('when If-Match is missing or stale, then 428 or 412 and nothing changes', async () => {
      const [key, other] = [await keyPair(), await keyPair()];
      const clientId = await jwtClient(key);

      expectProblem(
        await patchKeys(clientId, { jwks: { keys: [other.jwk] } }, null),
        428,
        'precondition-required',
      );
      expectProblem(
        await patchKeys(clientId, { jwks: { keys: [other.jwk] } }, '"7"'),
        412,
        'precondition-failed',
      );

      expect(await t.database.db('oauth_clients').where({ id: clientId }).first()).toMatchObject({
        version: 1,
      });
    });

    it('when the client authenticates with a secret, then 409 and it gets no keys', async () => {
      const key = await keyPair();
      const created = await createClient(t, admin, {}).expect(201);

      const res = await patchKeys(created.body.client_id as string, { jwks: { keys: [key.jwk] } });

      expectProblem(res, 409, 'conflict');
      const row = await t.database.db('oauth_clients').where({ id: created.body.client_id }).first();
      expect(row).toMatchObject({
        version: 1,
        jwks: null,
        token_endpoint_auth_method: 'client_secret_basic',
      });
    });
  });

  describe('registration refusals store nothing', () => {
    async function clientCount(): Promise<number> {
      const [row] = await t.database.db('oauth_clients').count<[{ count: string }]>('* as count');
      return Number(row!.count);
    }

    it.each<[string, Record<string, unknown>]>([
      ['a JWKS URL on loopback over http', { jwks_uri: 'http://127.0.0.1:8080/jwks.json' }],
      ['a JWKS URL on loopback over https', { jwks_uri: 'https://127.0.0.1/jwks.json' }],
      ['a JWKS URL at the cloud metadata address', { jwks_uri: 'https://169.254.169.254/jwks.json' }],
      ['a JWKS URL at a private address', { jwks_uri: 'https://10.0.0.7/jwks.json' }],
      ['a JWKS URL with credentials', { jwks_uri: 'https://user:pw@example.com/jwks.json' }],
      [
        'both jwks and jwks_uri',
        { jwks_uri: 'https://example.com/jwks.json', jwks: { keys: [{ kty: 'EC' }] } },
      ],
      ['neither jwks nor jwks_uri', {}],
      ['a private EC key', { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }] } }],
      ['a symmetric key', { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }],
      ['an HS256 alg', { jwks: { keys: [{ kty: 'EC', crv: 'P-256', alg: 'HS256', x: 'a', y: 'b' }] } }],
      ['a key that does not parse', { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }] } }],
      ['too many keys', { jwks: { keys: Array.from({ length: 6 }, () => ({ kty: 'EC', crv: 'P-256' })) } }],
    ])('when a private_key_jwt client has %s, then 400 and no client is stored', async (_case, body) => {
      const before = await clientCount();

      const res = await createClient(t, admin, { token_endpoint_auth_method: 'private_key_jwt', ...body });

      expectProblem(res, 400, 'validation-error');
      expect(await clientCount()).toBe(before);
    });

    it('when a secret client sends keys, then 400 and no client is stored', async () => {
      const key = await keyPair();
      const before = await clientCount();

      const res = await createClient(t, admin, { jwks: { keys: [key.jwk] } });

      expectProblem(res, 400, 'validation-error');
      expect(await clientCount()).toBe(before);
    });
  });

  it('when the metadata is read, then it advertises private_key_jwt and its algorithms', async () => {
    const res = await request(t.app).get('/.well-known/oauth-authorization-server').expect(200);

    expect(res.body.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(res.body.token_endpoint_auth_signing_alg_values_supported).toEqual(
      expect.arrayContaining(['ES256', 'RS256', 'PS256', 'EdDSA']),
    );
    expect(res.body.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256');
    expect(res.body.token_endpoint_auth_signing_alg_values_supported).not.toContain('none');
    expect(res.body.revocation_endpoint_auth_methods_supported).toContain('private_key_jwt');
  });
});

describe('private_key_jwt with a JWKS URL (loopback allowed, as for webhooks in tests)', () => {
  let t: TestApp;
  let admin: TestUser;
  let server: Server;
  let served: { keys: JWK[] } = { keys: [] };
  let fetches = 0;
  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' } });
    admin = await createUser(t, { role: 'admin' });
    server = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await t.close();
  });

  it('when the client registers its JWKS URL and signs with a key it serves, then it gets a token, twice with one fetch', async () => {
    const key = await keyPair();
    served = { keys: [key.jwk] };
    const jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const created = await createClient(t, admin, {
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: jwksUri,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ jwks_uri: jwksUri });
    const clientId = created.body.client_id as string;
    fetches = 0;

    await tokenWithAssertion(t, await assertion(clientId, key)).expect(200);
    await tokenWithAssertion(t, await assertion(clientId, key)).expect(200);

    expect(fetches).toBe(1);
    expect(await sessionsOf(t, clientId)).toBe(2);
  });

  it('when the served set lacks the signing key, then 401 invalid_client', async () => {
    const key = await keyPair();
    served = { keys: [(await keyPair()).jwk] };
    const jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/other.json`;
    const created = await createClient(t, admin, {
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: jwksUri,
    });
    const clientId = created.body.client_id as string;

    const res = await tokenWithAssertion(t, await assertion(clientId, key));

    expectProblem(res, 401, 'unauthorized');
    expect(await sessionsOf(t, clientId)).toBe(0);
  });
});
