import { createHmac, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request, { type Response } from 'supertest';
import { expectProblem } from '../support/contract';
import { createUser, PASSWORD, passwordGrant, uniqueEmail, type TestUser } from '../support/identity';
import { createTestApp, TEST_SIGNING_KEY_PEM, type TestApp } from '../support/test-app';

/** OWASP API2:2023 Broken Authentication: every forged, stale or foreign token is refused as invalid_token. */

const base64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

interface Claims {
  sub: string;
  sid: string;
  scope: string;
}

const decodePayload = (token: string): Record<string, unknown> => jwt.decode(token, { json: true })!;

/** The claims an access token of `user` carries, read from the token the API issued. */
function claimsOf(accessToken: string): Claims {
  const payload = jwt.decode(accessToken) as Claims;
  return { sub: payload.sub, sid: payload.sid, scope: payload.scope };
}

function expectInvalidToken(res: Response): void {
  const problem = expectProblem(res, 401, 'unauthorized');
  expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  expect(problem.error).toBe('invalid_token');
}

describe('broken authentication (OWASP API2)', () => {
  let t: TestApp;
  let user: TestUser;
  let claims: Claims;
  let kid: string;
  let issuer: string;
  let audience: string;
  let publicKeyPem: string;

  const now = () => Math.floor(Date.now() / 1000);

  /**
   * A token signed with the app's own key, exactly as the API would sign it unless told otherwise.
   * `payload` overrides or (with undefined) removes claims; `header` overrides header members.
   */
  const selfSigned = (
    options: {
      payload?: Record<string, unknown>;
      header?: Record<string, unknown>;
      key?: string;
    } = {},
  ): string => {
    const payload: Record<string, unknown> = {
      iss: issuer,
      aud: audience,
      sub: claims.sub,
      sid: claims.sid,
      scope: claims.scope,
      jti: randomUUID(),
      iat: now(),
      exp: now() + 600,
      ...options.payload,
    };
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
    return jwt.sign(payload, options.key ?? TEST_SIGNING_KEY_PEM, {
      algorithm: 'ES256',
      header: { alg: 'ES256', typ: 'at+jwt', kid, ...options.header },
    });
  };

  /** header.payload.signature with a header and payload we chose, and a signature we supply. */
  const assemble = (header: unknown, payload: unknown, signature: string): string =>
    `${base64url(header)}.${base64url(payload)}.${signature}`;

  const getMe = (authorization: string) =>
    request(t.app).get('/v1/users/me').set('Authorization', authorization);

  beforeAll(async () => {
    t = await createTestApp();
    user = await createUser(t);
    claims = claimsOf(user.accessToken);
    kid = t.signingKeys.current.kid;
    issuer = t.config.auth.issuer;
    audience = t.config.auth.audience;
    publicKeyPem = createPublicKey(TEST_SIGNING_KEY_PEM).export({ format: 'pem', type: 'spki' }).toString();
  });
  afterAll(() => t.close());

  describe('positive control', () => {
    it('when a token is self-signed with the real key, kid, typ and a live sid, then it is accepted', async () => {
      const res = await getMe(`Bearer ${selfSigned()}`);

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: user.id, email: user.email });
    });

    it('when the API-issued access token is used, then it is accepted', async () => {
      const res = await getMe(`Bearer ${user.accessToken}`);

      expect(res.status).toBe(200);
      expect(res.body.id).toBe(user.id);
    });
  });

  describe('forged and foreign tokens', () => {
    it('when the token says alg "none" and has no signature, then 401 invalid_token', async () => {
      const token = assemble({ alg: 'none', typ: 'at+jwt', kid }, decodePayload(selfSigned()), '');

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when the token is HS256 signed with the public key PEM as HMAC secret (key confusion), then 401 invalid_token', async () => {
      const header = { alg: 'HS256', typ: 'at+jwt', kid };
      const payload = decodePayload(selfSigned());
      const signingInput = `${base64url(header)}.${base64url(payload)}`;
      const signature = createHmac('sha256', publicKeyPem).update(signingInput).digest('base64url');

      const res = await getMe(`Bearer ${signingInput}.${signature}`);

      expectInvalidToken(res);
    });

    it('when the token is HS256 signed with the public JWK as HMAC secret, then 401 invalid_token', async () => {
      const header = { alg: 'HS256', typ: 'at+jwt', kid };
      const payload = decodePayload(selfSigned());
      const signingInput = `${base64url(header)}.${base64url(payload)}`;
      const jwks = (await request(t.app).get('/.well-known/jwks.json').expect(200)).body as {
        keys: unknown[];
      };
      const signature = createHmac('sha256', JSON.stringify(jwks.keys[0]))
        .update(signingInput)
        .digest('base64url');

      const res = await getMe(`Bearer ${signingInput}.${signature}`);

      expectInvalidToken(res);
    });

    it('when the token is signed by a different EC key but names the real kid, then 401 invalid_token', async () => {
      const attackerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString();

      const res = await getMe(`Bearer ${selfSigned({ key: attackerKey })}`);

      expectInvalidToken(res);
    });

    it('when the payload of a real token is changed to another user’s sub and sid, keeping the signature, then 401 invalid_token', async () => {
      const victim = await createUser(t);
      const [header, , signature] = user.accessToken.split('.');
      const payload = { ...decodePayload(user.accessToken), ...claimsOf(victim.accessToken) };
      const tampered = `${header}.${base64url(payload)}.${signature}`;

      const res = await getMe(`Bearer ${tampered}`);

      expectInvalidToken(res);
    });

    it('when the scope of a real token is widened, keeping the signature, then 401 invalid_token and not 200 or 403', async () => {
      const narrow = (await passwordGrant(t.app, user.email, PASSWORD, 'items:read').expect(200)).body
        .access_token as string;
      await getMe(`Bearer ${narrow}`).expect(403);
      const [header, , signature] = narrow.split('.');
      const payload = { ...decodePayload(narrow), scope: 'profile items:read' };
      const tampered = `${header}.${base64url(payload)}.${signature}`;

      const res = await getMe(`Bearer ${tampered}`);

      expectInvalidToken(res);
    });

    it('when the token expired, then 401 invalid_token', async () => {
      const token = selfSigned({ payload: { iat: now() - 1200, exp: now() - 60 } });

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when the token has no exp (it would never expire), then 401 invalid_token', async () => {
      const token = selfSigned({ payload: { exp: undefined } });

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when the token says it was issued in the future (beyond a minute of clock skew), then 401 invalid_token', async () => {
      const token = selfSigned({ payload: { iat: now() + 3600, exp: now() + 4200 } });

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when the token was issued within the clock skew allowed (30 s ahead), then it is accepted', async () => {
      const res = await getMe(`Bearer ${selfSigned({ payload: { iat: now() + 30 } })}`);

      expect(res.status).toBe(200);
    });

    it('when the sid is not a UUID, then 401 invalid_token (not a 400 about storage)', async () => {
      const token = selfSigned({ payload: { sid: 'not-a-session' } });

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when the token is not valid before a future time (nbf), then 401 invalid_token', async () => {
      const token = selfSigned({ payload: { nbf: now() + 3600 } });

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when the issuer is another one, then 401 invalid_token', async () => {
      const token = selfSigned({ payload: { iss: 'https://evil.example' } });

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when the audience is another one, then 401 invalid_token', async () => {
      const token = selfSigned({ payload: { aud: 'another-api' } });

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it.each([['JWT'], ['id+jwt'], ['refresh+jwt']])(
      'when the typ is %s instead of at+jwt, then 401 invalid_token',
      async (typ) => {
        const token = selfSigned({ header: { typ } });

        const res = await getMe(`Bearer ${token}`);

        expectInvalidToken(res);
      },
    );

    it('when the kid is unknown, then 401 invalid_token', async () => {
      const token = selfSigned({ header: { kid: 'not-a-key-we-have' } });

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when the token has no kid, then 401 invalid_token', async () => {
      const token = selfSigned({ header: { kid: undefined } });
      expect(jwt.decode(token, { complete: true })!.header.kid).toBeUndefined();

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when the token has no sid, then 401 invalid_token', async () => {
      const token = selfSigned({ payload: { sid: undefined } });

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when the sid names no session, then 401 invalid_token', async () => {
      const token = selfSigned({ payload: { sid: randomUUID() } });

      const res = await getMe(`Bearer ${token}`);

      expectInvalidToken(res);
    });

    it('when a refresh token is sent as a bearer token, then 401 invalid_token', async () => {
      const res = await getMe(`Bearer ${user.refreshToken}`);

      expectInvalidToken(res);
    });

    it('when the Authorization header is "Bearer not.a.jwt", then 401 invalid_token', async () => {
      const res = await getMe('Bearer not.a.jwt');

      expectInvalidToken(res);
    });

    it.each([['Bearer'], ['Bearer '], ['Basic x'], ['Basic dXNlcjpwYXNz']])(
      'when the Authorization header %j carries no bearer token, then 401 with a bare Bearer challenge (RFC 6750 3.1)',
      async (authorization) => {
        const res = await getMe(authorization);

        const problem = expectProblem(res, 401, 'unauthorized');
        expect(res.headers['www-authenticate']).toBe('Bearer realm="partner-api"');
        expect(problem.error).toBeUndefined();
      },
    );
  });

  describe('accounts that change after the token was issued', () => {
    it('when the user is disabled in the database, then their unexpired token is refused at once', async () => {
      const victim = await createUser(t);
      await getMe(`Bearer ${victim.accessToken}`).expect(200);
      await t.database.db('users').where({ id: victim.id }).update({ status: 'disabled' });

      const res = await getMe(`Bearer ${victim.accessToken}`);

      expectInvalidToken(res);
    });

    it('when the user is deleted from the database, then their unexpired token is refused at once', async () => {
      const victim = await createUser(t);
      await getMe(`Bearer ${victim.accessToken}`).expect(200);
      await t.database.db('users').where({ id: victim.id }).delete();

      const res = await getMe(`Bearer ${victim.accessToken}`);

      expectInvalidToken(res);
    });
  });

  describe('a verified token is remembered until it expires; its session is checked every time', () => {
    // Only Date moves; timers, ticks and I/O stay real so the database keeps answering.
    const fakeDateOnly = (now: number) =>
      jest.useFakeTimers({
        now,
        doNotFake: [
          'hrtime',
          'nextTick',
          'performance',
          'queueMicrotask',
          'setImmediate',
          'clearImmediate',
          'setInterval',
          'clearInterval',
          'setTimeout',
          'clearTimeout',
        ],
      });
    afterEach(() => {
      jest.useRealTimers();
      jest.restoreAllMocks();
    });

    it('when a token is used again, then its signature is not verified again but its session is refused once revoked', async () => {
      const holder = await createUser(t);
      const verify = jest.spyOn(jwt, 'verify');
      await getMe(`Bearer ${holder.accessToken}`).expect(200);
      const verificationsAfterFirstUse = verify.mock.calls.length;
      await getMe(`Bearer ${holder.accessToken}`).expect(200);
      expect(verificationsAfterFirstUse).toBeGreaterThan(0);
      expect(verify.mock.calls.length).toBe(verificationsAfterFirstUse);
      const { sid } = claimsOf(holder.accessToken);
      await t.database.db('auth_sessions').where({ id: sid }).update({ revoked_at: t.database.db.fn.now() });

      const res = await getMe(`Bearer ${holder.accessToken}`);

      expectInvalidToken(res);
    });

    it('when a remembered token reaches its exp, then it is refused', async () => {
      const holder = await createUser(t);
      await getMe(`Bearer ${holder.accessToken}`).expect(200);
      const { exp } = jwt.decode(holder.accessToken) as { exp: number };
      fakeDateOnly(exp * 1000 - 1000);
      await getMe(`Bearer ${holder.accessToken}`).expect(200);
      jest.setSystemTime(exp * 1000);

      const res = await getMe(`Bearer ${holder.accessToken}`);

      expectInvalidToken(res);
    });
  });

  describe('account enumeration on the password grant', () => {
    it('when the email is unknown or the password is wrong, then the problem bodies are byte-identical but for request_id', async () => {
      const known = await createUser(t);
      const normalize = (res: Response) =>
        res.text
          .replace(/"request_id":"[^"]*"/, '"request_id":"-"')
          .replace(/"instance":"[^"]*"/, '"instance":"-"');

      const unknownEmail = await passwordGrant(t.app, uniqueEmail('nobody'), PASSWORD);
      const wrongPassword = await passwordGrant(t.app, known.email, `${PASSWORD}-wrong`);

      const unknownProblem = expectProblem(unknownEmail, 400, 'oauth-error');
      const wrongProblem = expectProblem(wrongPassword, 400, 'oauth-error');
      expect(unknownProblem.error).toBe('invalid_grant');
      expect(wrongProblem.error).toBe('invalid_grant');
      expect(unknownProblem.detail).toBe(wrongProblem.detail);
      expect(normalize(unknownEmail)).toBe(normalize(wrongPassword));
      expect(unknownEmail.headers['content-type']).toBe(wrongPassword.headers['content-type']);
    });

    it('when the account is disabled, then the right password and a wrong one get the same answer (no password oracle), and the audit log tells them apart', async () => {
      const disabled = await createUser(t);
      await t.database.db('users').where({ id: disabled.id }).update({ status: 'disabled' });
      const normalize = (res: Response) =>
        res.text
          .replace(/"request_id":"[^"]*"/, '"request_id":"-"')
          .replace(/"instance":"[^"]*"/, '"instance":"-"');

      const rightPassword = await passwordGrant(t.app, disabled.email, PASSWORD);
      const wrongPassword = await passwordGrant(t.app, disabled.email, `${PASSWORD}-wrong`);

      expect(expectProblem(rightPassword, 400, 'oauth-error').error).toBe('invalid_grant');
      expect(normalize(rightPassword)).toBe(normalize(wrongPassword));
      const reasons = await t.database
        .db('audit_events')
        .where({ action: 'auth.sign_in_failed', resource_id: disabled.id })
        .orderBy('occurred_at')
        .pluck('details');
      expect(reasons.map((details: { reason: string }) => details.reason).sort()).toEqual([
        'account_disabled',
        'wrong_password',
      ]);
    });
  });
});
