import { KeyObject } from 'node:crypto';
import type { Request } from 'express';
import { createRemoteJWKSet } from 'jose';
import jwt from 'jsonwebtoken';
import { Passport } from 'passport';
import {
  ExtractJwt,
  Strategy as JwtStrategy,
  type SecretOrKeyProvider,
  type VerifiedCallback,
} from 'passport-jwt';
import type { Logger } from 'pino';
import type { AuthConfig } from '../internal/config';
import type { Principal } from '../models/principal';
import { isScope, parseScopeList, ROLE_SCOPES, type Scope } from '../models/scopes';
import type { ExternalIdentitiesRepository } from '../repositories/external-identities.repository';
import type { SessionsRepository } from '../repositories/sessions.repository';
import type { UsersRepository } from '../repositories/users.repository';
import {
  AppError,
  InsufficientScopeError,
  InvalidTokenError,
  MissingCredentialsError,
} from '../utils/errors';
import type { AccessTokenClaims, AccessTokenCodec } from './access-tokens';
import type { Database } from './database';

export type SecuritySchemeName = 'bearerAuth' | 'oauth2';
/** express-openapi-validator calls the handler named like the scheme with the scopes the operation requires. */
export type SecurityHandlers = Record<
  SecuritySchemeName,
  (req: Request, scopes: string[]) => Promise<boolean>
>;

/** Where a security handler leaves its precise failure for the error middleware (the validator keeps only a status). */
export const AUTH_FAILURE_LOCAL = 'authFailure';

const OWN_STRATEGY = 'own-jwt';
const EXTERNAL_STRATEGY = 'external-jwt';

export interface Authenticator {
  securityHandlers: SecurityHandlers;
}

export function createAuthenticator(deps: {
  db: Database;
  auth: Pick<AuthConfig, 'external'>;
  codec: AccessTokenCodec;
  sessions: SessionsRepository;
  users: UsersRepository;
  externalIdentities: ExternalIdentitiesRepository;
  logger: Logger;
}): Authenticator {
  const { codec, sessions, users, externalIdentities, auth, logger } = deps;
  const passport = new Passport();
  const fromBearer = ExtractJwt.fromAuthHeaderAsBearerToken();

  const resolveOwnToken = async (claims: AccessTokenClaims): Promise<Principal> => {
    const row = await sessions.findPrincipal(claims.sid);
    if (!row || row.revoked_at) throw new InvalidTokenError('The session of this token has ended.');
    const tokenScopes = parseScopeList(claims.scope).filter(isScope);
    if (row.user_id) {
      if (row.user_id !== claims.sub || row.status !== 'active' || !row.role) {
        throw new InvalidTokenError('The account of this token is disabled or gone.');
      }
      const allowed = ROLE_SCOPES[row.role];
      return {
        kind: 'user',
        id: row.user_id,
        role: row.role,
        sessionId: row.session_id,
        scopes: new Set(tokenScopes.filter((scope) => allowed.includes(scope))),
      };
    }
    if (!row.client_id || row.client_id !== claims.sub || !row.client_scopes) {
      throw new InvalidTokenError('The client of this token is gone.');
    }
    const granted: readonly string[] = row.client_scopes;
    return {
      kind: 'client',
      id: row.client_id,
      sessionId: row.session_id,
      scopes: new Set(tokenScopes.filter((scope) => granted.includes(scope))),
    };
  };

  passport.use(
    OWN_STRATEGY,
    new JwtStrategy(
      {
        jwtFromRequest: fromBearer,
        secretOrKeyProvider: ((_req, rawJwt: string, done) => {
          try {
            done(null, asVerificationKey(codec.keyFor(rawJwt)));
          } catch (error) {
            done(error);
          }
        }) satisfies SecretOrKeyProvider,
        ...codec.verifyOptions,
      },
      (claims: AccessTokenClaims, done: VerifiedCallback) => {
        if (typeof claims.sid !== 'string' || typeof claims.sub !== 'string') {
          done(null, false, new InvalidTokenError());
          return;
        }
        resolveOwnToken(claims).then(
          (principal) => done(null, principal),
          (error: unknown) => done(error instanceof AppError ? null : error, false, error),
        );
      },
    ),
  );

  const external = auth.external;
  if (external) {
    // jose caches the set, refetches on an unknown kid at most once per cooldown, and times out a slow
    // provider. Only the header's kid and alg are used to pick a key: jku, x5u and jwk are never followed.
    const jwks = createRemoteJWKSet(new URL(external.jwksUri), {
      timeoutDuration: external.jwksTimeoutMs,
      cooldownDuration: 60_000,
      cacheMaxAge: 10 * 60_000,
    });
    const resolveExternalToken = async (claims: {
      iss: string;
      sub: string;
      name?: unknown;
    }): Promise<Principal> => {
      let userId = await externalIdentities.findUserId(claims.iss, claims.sub);
      if (!userId) {
        userId = await deps.db
          .transaction(async (trx) => {
            const name =
              typeof claims.name === 'string' && claims.name.trim()
                ? claims.name.trim().slice(0, 200)
                : 'External user';
            const created = await users.create({ email: null, name, passwordHash: null, role: 'user' }, trx);
            if (await externalIdentities.link(claims.iss, claims.sub, created.id, trx)) return created.id;
            // Another request created the account for this identity first; use theirs, roll ours back.
            throw new LinkedConcurrently();
          })
          .catch(async (error: unknown) => {
            if (!(error instanceof LinkedConcurrently)) throw error;
            return externalIdentities.findUserId(claims.iss, claims.sub);
          });
      }
      const account = userId ? await users.findCredentialsById(userId) : undefined;
      if (!account || account.status !== 'active')
        throw new InvalidTokenError('The account of this token is disabled or gone.');
      return {
        kind: 'user',
        id: account.id,
        role: account.role,
        sessionId: undefined,
        scopes: new Set(ROLE_SCOPES[account.role]),
      };
    };

    passport.use(
      EXTERNAL_STRATEGY,
      new JwtStrategy(
        {
          jwtFromRequest: fromBearer,
          secretOrKeyProvider: ((_req, rawJwt: string, done) => {
            const decoded = jwt.decode(rawJwt, { complete: true });
            const alg = decoded?.header.alg;
            if (!decoded || !alg || !external.algorithms.includes(alg)) {
              done(new Error('algorithm not accepted'));
              return;
            }
            jwks({ alg, ...(decoded.header.kid ? { kid: decoded.header.kid } : {}) }).then(
              (key) => done(null, asVerificationKey(KeyObject.from(key))),
              (error: unknown) => {
                logger.warn({ err: error }, 'external identity provider key lookup failed');
                done(error);
              },
            );
          }) satisfies SecretOrKeyProvider,
          algorithms: [...external.algorithms] as jwt.Algorithm[],
          issuer: external.issuer,
          audience: external.audience,
        },
        (claims: { iss: string; sub: string; name?: unknown }, done: VerifiedCallback) => {
          if (typeof claims.sub !== 'string' || !claims.sub) {
            done(null, false, new InvalidTokenError());
            return;
          }
          resolveExternalToken(claims).then(
            (principal) => done(null, principal),
            (error: unknown) => done(error instanceof AppError ? null : error, false, error),
          );
        },
      ),
    );
  }

  const authenticate = (req: Request): Promise<Principal> =>
    new Promise((resolve, reject) => {
      const token = fromBearer(req);
      if (!token) {
        reject(new MissingCredentialsError());
        return;
      }
      const unverifiedIssuer = (jwt.decode(token, { json: true }) ?? {}).iss;
      const strategy = external && unverifiedIssuer === external.issuer ? EXTERNAL_STRATEGY : OWN_STRATEGY;
      const middleware = passport.authenticate(
        strategy,
        { session: false },
        (error: unknown, principal: Principal | false, info: unknown) => {
          if (error)
            reject(error instanceof Error ? error : new Error('authentication failed', { cause: error }));
          else if (!principal) reject(info instanceof AppError ? info : new InvalidTokenError());
          else resolve(principal);
        },
      ) as (req: Request, res: unknown, next: (error?: unknown) => void) => void;
      middleware(req, req.res, reject);
    });

  // Both schemes of an operation's security requirement share one resolution per request.
  const principals = new WeakMap<Request, Promise<Principal>>();

  const authorize = async (req: Request, requiredScopes: string[]): Promise<boolean> => {
    try {
      let pending = principals.get(req);
      if (!pending) {
        pending = authenticate(req);
        principals.set(req, pending);
      }
      const principal = await pending;
      if (!requiredScopes.every((scope) => principal.scopes.has(scope as Scope))) {
        throw new InsufficientScopeError(requiredScopes);
      }
      req.principal = principal;
      return true;
    } catch (error) {
      if (req.res) req.res.locals[AUTH_FAILURE_LOCAL] = error;
      throw new SecurityHandlerFailure(
        error instanceof InsufficientScopeError ? 403 : error instanceof AppError ? 401 : 500,
        error,
      );
    }
  };

  return { securityHandlers: { bearerAuth: authorize, oauth2: authorize } };
}

class LinkedConcurrently extends Error {}

/** What express-openapi-validator expects a security handler to throw: it keeps only `status`. */
class SecurityHandlerFailure extends Error {
  constructor(
    readonly status: number,
    readonly error: unknown,
  ) {
    super('security handler refused the request');
  }
}

/** passport-jwt hands the key to jsonwebtoken, which takes a KeyObject; its typings only admit strings and Buffers. */
function asVerificationKey(key: KeyObject): Buffer {
  return key as unknown as Buffer;
}

/** The principal a secured handler runs for; its absence means the operation was routed without security. */
export function requirePrincipal(req: Pick<Request, 'principal' | 'method' | 'path'>): Principal {
  if (!req.principal) throw new Error(`No principal on a secured route: ${req.method} ${req.path}`);
  return req.principal;
}
