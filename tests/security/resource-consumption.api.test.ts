import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { generateKeyPair, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import request, { type Response } from 'supertest';
import type * as PasswordHasherModule from '../../src/infrastructure/password-hasher';
import { generateOpaqueToken, hashOpaqueToken } from '../../src/utils/opaque-tokens';
import { expectProblem } from '../support/contract';
import { createUser, PASSWORD, passwordGrant, uniqueEmail } from '../support/identity';
import {
  createRedisTestApps,
  deleteAccountCounters,
  TEST_REDIS_URL,
  type RedisTestApps,
} from '../support/redis-test-apps';
import { createTestApp, TEST_BASE_URL, type TestApp } from '../support/test-app';

/** OWASP API4:2023 Unrestricted Resource Consumption: throttled guessing, bounded bodies and pages, no argon2 for junk. */

// Every argon2 call the app makes, so a test can prove a request never reached the password hasher.
const mockArgon2Calls: string[] = [];
jest.mock('../../src/infrastructure/password-hasher', () => {
  const actual = jest.requireActual<typeof PasswordHasherModule>('../../src/infrastructure/password-hasher');
  return {
    ...actual,
    createPasswordHasher: (): PasswordHasherModule.PasswordHasher => {
      const real = actual.createPasswordHasher();
      return {
        ...real,
        hash: (password) => {
          mockArgon2Calls.push('hash');
          return real.hash(password);
        },
        verify: (passwordHash, password) => {
          mockArgon2Calls.push('verify');
          return real.verify(passwordHash, password);
        },
        verifyAgainstDummy: (password) => {
          mockArgon2Calls.push('verifyAgainstDummy');
          return real.verifyAgainstDummy(password);
        },
      };
    },
  };
});

const WINDOW_SECONDS = 60;

function expectTooManyRequests(
  res: Response,
  policy: 'auth-ip' | 'token-grants-client' | `auth-account-${string}`,
  limit: number,
): void {
  expectProblem(res, 429, 'too-many-requests');
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
  expect(res.headers.ratelimit).toMatch(new RegExp(`"${policy}"; r=0; t=\\d+`));
  expect(res.headers['ratelimit-policy']).toMatch(new RegExp(`"${policy}"; q=${limit}; w=${WINDOW_SECONDS}`));
}

function expectInvalidGrant(res: Response): void {
  expect(expectProblem(res, 400, 'oauth-error')).toMatchObject({ error: 'invalid_grant' });
}

/** A partner client created straight in the database, so arranging it spends no rate-limit budget. */
async function insertClient(t: TestApp): Promise<string> {
  const [row] = await t.database
    .db('oauth_clients')
    .insert({
      name: 'Partner',
      scopes: ['items:read'],
      secret_hash: hashOpaqueToken(generateOpaqueToken('cs')),
    })
    .returning<Array<{ id: string }>>('id');
  return row!.id;
}

const register = (app: Express, email: string) =>
  request(app).post('/v1/auth/register').send({ email, password: PASSWORD, name: 'Rate Limited' });

describe('unrestricted resource consumption (OWASP API4)', () => {
  describe('throttling per client address', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({
        env: { RATE_LIMIT_AUTH_PER_IP: '3', RATE_LIMIT_AUTH_PER_ACCOUNT: '1000' },
      });
    });
    afterAll(() => t.close());

    it('when a 4th token request comes from one address within the window, then 429 with Retry-After and RateLimit headers, before argon2', async () => {
      const allowed = [];
      for (let attempt = 0; attempt < 3; attempt += 1) {
        allowed.push(await passwordGrant(t.app, uniqueEmail('ip'), `${PASSWORD}-${attempt}`));
      }
      const argon2CallsBefore = mockArgon2Calls.length;

      const res = await passwordGrant(t.app, uniqueEmail('ip'), PASSWORD);

      for (const attempt of allowed) {
        expectInvalidGrant(attempt);
        expect(attempt.headers['ratelimit-policy']).toMatch(/"auth-ip"; q=3; w=60/);
      }
      expect(allowed.map((attempt) => attempt.headers.ratelimit)).toEqual([
        expect.stringMatching(/"auth-ip"; r=2;/),
        expect.stringMatching(/"auth-ip"; r=1;/),
        expect.stringMatching(/"auth-ip"; r=0;/),
      ]);
      expectTooManyRequests(res, 'auth-ip', 3);
      expect(mockArgon2Calls.length).toBe(argon2CallsBefore);
    });
  });

  describe('throttling client authentication on revocation', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({
        env: { RATE_LIMIT_AUTH_PER_IP: '3', RATE_LIMIT_AUTH_PER_ACCOUNT: '1000' },
      });
    });
    afterAll(() => t.close());

    it('when a 4th wrong client secret is tried at the revocation endpoint from one address, then 429', async () => {
      const clientId = await insertClient(t);
      const attempt = (secret: string) =>
        request(t.app)
          .post('/v1/auth/revoke')
          .type('form')
          .send({ token: 'rt_unknown', client_id: clientId, client_secret: secret });
      const refused = [];
      for (const secret of ['cs_wrong-1', 'cs_wrong-2', 'cs_wrong-3']) refused.push(await attempt(secret));

      const fourth = await attempt('cs_wrong-4');

      for (const res of refused) expect(expectProblem(res, 401, 'unauthorized').error).toBe('invalid_client');
      expectTooManyRequests(fourth, 'auth-ip', 3);
    });
  });

  describe('throttling per account', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({
        env: { RATE_LIMIT_AUTH_PER_IP: '1000', RATE_LIMIT_AUTH_PER_ACCOUNT: '2' },
      });
    });
    afterAll(() => t.close());

    it('when a 3rd wrong password is tried for one username, then 429 for it, whatever its case, while another username still gets invalid_grant', async () => {
      const victim = uniqueEmail('victim');
      await register(t.app, victim).expect(201);
      const first = await passwordGrant(t.app, victim, `${PASSWORD}-1`);
      const second = await passwordGrant(t.app, victim, `${PASSWORD}-2`);

      const third = await passwordGrant(t.app, victim, `${PASSWORD}-3`);
      const upperCased = await passwordGrant(t.app, victim.toUpperCase(), PASSWORD);
      const otherAccount = await passwordGrant(t.app, uniqueEmail('bystander'), `${PASSWORD}-1`);

      expectInvalidGrant(first);
      expectInvalidGrant(second);
      expectTooManyRequests(third, 'auth-account-token', 2);
      expectTooManyRequests(upperCased, 'auth-account-token', 2);
      expectInvalidGrant(otherAccount);
    });

    it.each([
      ['in the form body', false],
      ['by HTTP Basic', true],
    ])('when a 3rd wrong secret is tried for one partner client %s, then 429', async (_label, useBasic) => {
      const clientId = await insertClient(t);
      const attempt = (secret: string) => {
        const req = request(t.app).post('/v1/auth/token').type('form');
        return useBasic
          ? req.auth(clientId, secret).send({ grant_type: 'client_credentials' })
          : req.send({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
      };

      const first = await attempt('cs_wrong-1');
      const second = await attempt('cs_wrong-2');

      const third = await attempt('cs_wrong-3');

      expect([first.status, second.status]).toEqual([401, 401]);
      expectTooManyRequests(third, 'auth-account-token', 2);
    });

    it('when a 3rd failed client assertion claims one partner client, then 429: the claimed client is the account', async () => {
      const clientId = await insertClient(t);
      const { privateKey } = await generateKeyPair('ES256');
      const attempt = async () =>
        request(t.app)
          .post('/v1/auth/token')
          .type('form')
          .send({
            grant_type: 'client_credentials',
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: await new SignJWT({ jti: randomUUID() })
              .setProtectedHeader({ alg: 'ES256' })
              .setIssuer(clientId)
              .setSubject(clientId)
              .setAudience(`${TEST_BASE_URL}/v1/auth/token`)
              .setExpirationTime('1m')
              .sign(privateKey),
          });

      const first = await attempt();
      const second = await attempt();

      const third = await attempt();

      expect([first.status, second.status]).toEqual([401, 401]);
      expectTooManyRequests(third, 'auth-account-token', 2);
    });

    it('when a 3rd wrong current password is sent to change the password, then 429', async () => {
      const user = await createUser(t);
      const change = (currentPassword: string) =>
        request(t.app)
          .post('/v1/users/me/password')
          .auth(user.accessToken, { type: 'bearer' })
          .send({ current_password: currentPassword, new_password: 'a different long passphrase' });
      await change(`${PASSWORD}-1`).expect(400);
      await change(`${PASSWORD}-2`).expect(400);

      const res = await change(`${PASSWORD}-3`);

      expectTooManyRequests(res, 'auth-account-password', 2);
    });

    it('when the throttled account then sends the right password, then it is still 429 until the window ends', async () => {
      const victim = uniqueEmail('victim');
      await register(t.app, victim).expect(201);
      await passwordGrant(t.app, victim, `${PASSWORD}-1`).expect(400);
      await passwordGrant(t.app, victim, `${PASSWORD}-2`).expect(400);

      const res = await passwordGrant(t.app, victim, PASSWORD);

      expectTooManyRequests(res, 'auth-account-token', 2);
      expect(res.body.access_token).toBeUndefined();
    });
  });

  describe('throttling that cannot be turned against a partner', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({
        env: {
          TRUST_PROXY: 'true',
          RATE_LIMIT_AUTH_PER_IP: '1000',
          RATE_LIMIT_AUTH_PER_ACCOUNT: '2',
          RATE_LIMIT_TOKEN_GRANTS_PER_CLIENT: '3',
        },
      });
    });
    afterAll(() => t.close());

    const grant = (clientId: string, secret: string, address: string) =>
      request(t.app)
        .post('/v1/auth/token')
        .set('X-Forwarded-For', address)
        .type('form')
        .send({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });

    /** A partner client created through the API, without a token grant (grants are what is counted here). */
    const newPartner = async () => {
      const created = await request(t.app)
        .post('/v1/clients')
        .auth((await createUser(t, { role: 'admin' })).accessToken, { type: 'bearer' })
        .send({ name: 'Partner', scopes: ['items:read'] })
        .expect(201);
      const body = created.body as { client_id: string; client_secret: string };
      return { clientId: body.client_id, secret: body.client_secret };
    };

    it('when wrong secrets for a partner come from one address, then that address is throttled and the partner, elsewhere, is not', async () => {
      const { clientId, secret } = await newPartner();
      expect((await grant(clientId, 'cs_wrong-1', '203.0.113.7')).status).toBe(401);
      expect((await grant(clientId, 'cs_wrong-2', '203.0.113.7')).status).toBe(401);

      expectTooManyRequests(await grant(clientId, 'cs_wrong-3', '203.0.113.7'), 'auth-account-token', 2);
      expect((await grant(clientId, secret, '198.51.100.20')).status).toBe(200);
    });

    it('when a partner obtains tokens successfully, then those grants never count as failures, and a generous separate limit applies', async () => {
      const { clientId, secret } = await newPartner();
      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await grant(clientId, secret, '192.0.2.1')).status);
      expect(statuses).toEqual([200, 200, 200]);

      expectTooManyRequests(await grant(clientId, secret, '192.0.2.1'), 'token-grants-client', 3);
    });
  });

  describe('throttling guesses spread over many addresses', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({
        env: {
          TRUST_PROXY: 'true',
          RATE_LIMIT_AUTH_PER_IP: '1000',
          RATE_LIMIT_AUTH_PER_ACCOUNT: '2',
          RATE_LIMIT_AUTH_ACCOUNT_FAILURES_PER_HOUR: '4',
        },
      });
    });
    afterAll(() => t.close());

    const signIn = (username: string, password: string, address: string) =>
      request(t.app)
        .post('/v1/auth/token')
        .set('X-Forwarded-For', address)
        .type('form')
        .send({ grant_type: 'password', username, password });

    it('when guesses for one account come from ever new addresses, then the account-wide budget ends them, while the owner still signs in from an address it used before', async () => {
      const victim = uniqueEmail('victim');
      await register(t.app, victim).expect(201);
      await signIn(victim, PASSWORD, '198.51.100.20').expect(200);
      const guesses = [];
      for (const address of ['203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.2'])
        guesses.push(await signIn(victim, `${PASSWORD}-guess`, address));

      const fifthGuess = await signIn(victim, `${PASSWORD}-guess`, '203.0.113.3');
      const ownerTypo = await signIn(victim, `${PASSWORD}-typo`, '198.51.100.20');
      const owner = await signIn(victim, PASSWORD, '198.51.100.20');
      const ownerFromNewAddress = await signIn(victim, PASSWORD, '192.0.2.50');

      guesses.forEach(expectInvalidGrant);
      expectProblem(fifthGuess, 429, 'too-many-requests');
      expect(fifthGuess.headers['ratelimit-policy']).toMatch(
        /"auth-account-token-new-addresses"; q=4; w=3600/,
      );
      expect(Number(fifthGuess.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(fifthGuess.headers['retry-after'])).toBeLessThanOrEqual(3600);
      expectInvalidGrant(ownerTypo);
      expect(owner.status).toBe(200);
      // The price of the budget: during an attack, a sign-in from an address never used waits for the window.
      expectProblem(ownerFromNewAddress, 429, 'too-many-requests');
      expect(await signIn(uniqueEmail('bystander'), PASSWORD, '203.0.113.3')).toMatchObject({ status: 400 });
    });
  });

  describe('throttling registration', () => {
    it('when a 4th registration comes from one address, then 429 and no account is created', async () => {
      const t = await createTestApp({
        env: { RATE_LIMIT_AUTH_PER_IP: '3', RATE_LIMIT_AUTH_PER_ACCOUNT: '1000' },
      });
      try {
        for (let attempt = 0; attempt < 3; attempt += 1)
          await register(t.app, uniqueEmail('reg')).expect(201);
        const email = uniqueEmail('reg');

        const res = await register(t.app, email);

        expectTooManyRequests(res, 'auth-ip', 3);
        expect(await t.database.db('users').where({ email })).toHaveLength(0);
      } finally {
        await t.close();
      }
    });

    it('when one email is registered a 3rd time, then 429 instead of another conflict', async () => {
      const t = await createTestApp({
        env: { RATE_LIMIT_AUTH_PER_IP: '1000', RATE_LIMIT_AUTH_PER_ACCOUNT: '2' },
      });
      try {
        const email = uniqueEmail('reg');
        await register(t.app, email).expect(201);
        await register(t.app, email).expect(409);

        const res = await register(t.app, email);

        expectTooManyRequests(res, 'auth-account-register', 2);
      } finally {
        await t.close();
      }
    });
  });

  describe('throttling shared through Redis', () => {
    let shared: RedisTestApps;
    let inMemory: TestApp;
    let cleanup: Redis;
    const accounts: string[] = [];
    const env = { RATE_LIMIT_AUTH_PER_IP: '10000', RATE_LIMIT_AUTH_PER_ACCOUNT: '2' };
    const account = (prefix: string) => {
      const email = uniqueEmail(prefix);
      accounts.push(email);
      return email;
    };

    /** Misconfigurations express-rate-limit reported (it prints them with console.error) while the apps were built. */
    let limiterErrors: string[];

    beforeAll(async () => {
      cleanup = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
      const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        shared = await createRedisTestApps({ count: 2, env });
        inMemory = await createTestApp({ env });
        limiterErrors = consoleError.mock.calls
          .flat()
          .map((arg) => (arg as { code?: unknown } | undefined)?.code)
          .filter((code): code is string => typeof code === 'string' && code.startsWith('ERR_ERL_'));
      } finally {
        consoleError.mockRestore();
      }
    });
    afterAll(async () => {
      await deleteAccountCounters(cleanup, accounts);
      await cleanup.quit();
      await shared.close();
      await inMemory.close();
    });

    it('when two attempts for one account hit instance A, then the next on instance B gets 429', async () => {
      const a = shared.instances[0]!;
      const b = shared.instances[1]!;
      const email = account('redis');
      const first = await passwordGrant(a.app, email, `${PASSWORD}-1`);
      const second = await passwordGrant(a.app, email, `${PASSWORD}-2`);

      const third = await passwordGrant(b.app, email, `${PASSWORD}-3`);

      expectInvalidGrant(first);
      expectInvalidGrant(second);
      expectTooManyRequests(third, 'auth-account-token', 2);
      expect(await cleanup.keys(`rl:auth-account:token:account:${email}:address:*`)).toHaveLength(1);
    });

    it('when the apps are built with Redis, then express-rate-limit reports no misconfiguration', () => {
      expect(limiterErrors).toEqual([]);
    });

    it('when an email registers and then fails to sign in, then the per-account throttling is the same with Redis as in memory', async () => {
      const scenario = async (app: Express, email: string) => [
        (await register(app, email)).status,
        (await passwordGrant(app, email, `${PASSWORD}-1`)).status,
        (await passwordGrant(app, email, `${PASSWORD}-2`)).status,
      ];

      const memoryStatuses = await scenario(inMemory.app, account('parity'));
      const redisStatuses = await scenario(shared.instances[0]!.app, account('parity'));

      expect(memoryStatuses).toEqual([201, 400, 400]);
      expect(redisStatuses).toEqual(memoryStatuses);
    });
  });

  describe('bounded bodies, pages and fields', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ env: { JSON_BODY_LIMIT: '1kb' } });
    });
    afterAll(() => t.close());

    it('when a JSON body is over JSON_BODY_LIMIT, then 413 and nothing is created', async () => {
      const email = uniqueEmail('big');
      const under = await request(t.app)
        .post('/v1/auth/register')
        .send({ email, password: PASSWORD, name: 'n'.repeat(600) });
      expectProblem(under, 400, 'validation-error');

      const res = await request(t.app)
        .post('/v1/auth/register')
        .send({ email, password: PASSWORD, name: 'n'.repeat(2048) });

      expectProblem(res, 413, 'content-too-large');
      expect(await t.database.db('users').where({ email })).toHaveLength(0);
    });

    it('when a form body on the token endpoint is over the limit, then 413', async () => {
      const res = await request(t.app)
        .post('/v1/auth/token')
        .type('form')
        .send({ grant_type: 'password', username: uniqueEmail('big'), password: 'p'.repeat(2048) });

      expectProblem(res, 413, 'content-too-large');
    });

    it.each([
      ['101', 400],
      ['1000', 400],
      ['100', 200],
    ])('when users are listed with limit=%s, then %i', async (limit, status) => {
      const admin = await createUser(t, { role: 'admin' });

      const res = await request(t.app)
        .get('/v1/users')
        .query({ limit })
        .auth(admin.accessToken, { type: 'bearer' });

      if (status === 200) {
        expect(res.status).toBe(200);
      } else {
        const problem = expectProblem(res, 400, 'validation-error');
        expect(problem.errors).toEqual([expect.objectContaining({ location: 'query', pointer: '/limit' })]);
      }
    });
  });

  describe('passwords too long to hash', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp();
    });
    afterAll(() => t.close());

    it('when the token endpoint gets a 10,000-character password, then 400 on /password and argon2 never runs', async () => {
      const user = await createUser(t);
      const control = mockArgon2Calls.length;
      await passwordGrant(t.app, user.email, 'x'.repeat(128)).expect(400);
      expect(mockArgon2Calls.length).toBeGreaterThan(control);
      const before = mockArgon2Calls.length;

      const res = await passwordGrant(t.app, user.email, 'x'.repeat(10_000));

      const problem = expectProblem(res, 400, 'validation-error');
      expect(problem.error).toBe('invalid_request');
      expect(problem.errors).toEqual([expect.objectContaining({ location: 'body', pointer: '/password' })]);
      expect(mockArgon2Calls.length).toBe(before);
    });

    it('when registration gets a 10,000-character password, then 400 on /password and argon2 never runs', async () => {
      const before = mockArgon2Calls.length;

      const res = await request(t.app)
        .post('/v1/auth/register')
        .send({ email: uniqueEmail('long'), password: 'x'.repeat(10_000), name: 'Long' });

      const problem = expectProblem(res, 400, 'validation-error');
      expect(problem.errors).toEqual([expect.objectContaining({ location: 'body', pointer: '/password' })]);
      expect(mockArgon2Calls.length).toBe(before);
    });
  });
});
