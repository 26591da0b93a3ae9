import { KeyObject } from 'node:crypto';
import type { Request } from 'express';
import { createRemoteJWKSet } from 'jose';
import jwt from 'jsonwebtoken';
import { Strategy as JwtStrategy, type SecretOrKeyProvider, type VerifiedCallback } from 'passport-jwt';
import type { Logger } from 'pino';
import type { AuthConfig } from '../internal/config';
import type { Principal } from '../models/principal';
import { isScope, parseScopeList, ROLE_SCOPES } from '../models/scopes';
import type { ExternalIdentitiesRepository } from '../repositories/external-identities.repository';
import type { SessionsRepository } from '../repositories/sessions.repository';
import type { UsersRepository } from '../repositories/users.repository';
import type { UserCreation } from '../services/user-creation.service';
import { requestIdOf } from './request-id';
import { AppError, InvalidTokenError } from '../utils/errors';
import {
  hasBoundedLifetime,
  isAccessTokenClaims,
  type AccessTokenClaims,
  type AccessTokenCodec,
} from '../infrastructure/access-tokens';
import type { Database } from '../infrastructure/database';
import { withUnitOfWork } from '../infrastructure/unit-of-work';
import type { VerifiedTokens } from './verified-tokens';

type TokenFromRequest = (req: Request) => string | null;

/** passport-jwt hands the key to jsonwebtoken, which takes a KeyObject; its typings only admit strings and Buffers. */
function asVerificationKey(key: KeyObject): Buffer {
  return key as unknown as Buffer;
}

/** Our refusals (AppError) fail authentication with their reason; anything else is an error. */
function settle(done: VerifiedCallback, principal: Promise<Principal>): void {
  principal.then(
    (resolved) => done(null, resolved),
    (error: unknown) => done(error instanceof AppError ? null : error, false, error),
  );
}

class LinkedConcurrently extends Error {}

/** The principal of one of our verified access tokens: its session, account and scopes as they are now. */
export type OwnTokenResolver = (claims: AccessTokenClaims) => Promise<Principal>;

export function createOwnTokenResolver(deps: { sessions: SessionsRepository }): OwnTokenResolver {
  const { sessions } = deps;
  return async (claims) => {
    const row = await sessions.findPrincipal(claims.sid, claims.client_id ? 'client' : 'user');
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
        ...(row.account ? { account: row.account } : {}),
        ...(row.api_version ? { apiVersion: row.api_version } : {}),
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
      ...(row.api_version ? { apiVersion: row.api_version } : {}),
    };
  };
}

/**
 * Tokens this API issued: ES256, pinned issuer/audience/type, and a live session in the database.
 * What the signature check accepted goes into `verifiedTokens`, so the next request with the same token
 * skips straight to the session check.
 */
export function createOwnTokenStrategy(deps: {
  codec: AccessTokenCodec;
  resolve: OwnTokenResolver;
  verifiedTokens: VerifiedTokens<AccessTokenClaims>;
  fromBearer: TokenFromRequest;
}): JwtStrategy {
  const { codec, resolve, verifiedTokens, fromBearer } = deps;
  return new JwtStrategy(
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
      passReqToCallback: true,
    },
    (req: Request, claims: jwt.JwtPayload, done: VerifiedCallback) => {
      if (!isAccessTokenClaims(claims)) {
        done(null, false, new InvalidTokenError());
        return;
      }
      const token = fromBearer(req);
      if (token) verifiedTokens.set(token, claims);
      settle(done, resolve(claims));
    },
  );
}

/** Tokens from the configured external identity provider, mapped to a local user by issuer + subject. */
export function createExternalTokenStrategy(deps: {
  external: NonNullable<AuthConfig['external']>;
  db: Database;
  users: UsersRepository;
  userCreation: UserCreation;
  externalIdentities: ExternalIdentitiesRepository;
  logger: Logger;
  fromBearer: TokenFromRequest;
}): JwtStrategy {
  const { external, users, userCreation, externalIdentities, logger } = deps;
  // jose caches the set, refetches on an unknown kid at most once per cooldown, and times out a slow
  // provider. Only the header's kid and alg are used to pick a key: jku, x5u and jwk are never followed.
  const jwks = createRemoteJWKSet(new URL(external.jwksUri), {
    timeoutDuration: external.jwksTimeoutMs,
    cooldownDuration: 60_000,
    cacheMaxAge: 10 * 60_000,
  });
  const resolveExternalToken = async (
    claims: {
      iss: string;
      sub: string;
      name?: unknown;
    },
    requestId: string,
  ): Promise<Principal> => {
    let userId = await externalIdentities.findUserId(claims.iss, claims.sub);
    if (!userId) {
      userId = await withUnitOfWork(deps.db, async (unit) => {
        const name =
          typeof claims.name === 'string' && claims.name.trim()
            ? claims.name.trim().slice(0, 200)
            : 'External user';
        const created = await userCreation.create(
          unit,
          { email: null, name, password: null, role: 'user' },
          { via: 'external_identity_provider', issuer: claims.iss, requestId },
        );
        const linked = await unit.transaction((trx) =>
          externalIdentities.link(claims.iss, claims.sub, created.id, trx),
        );
        if (linked) return created.id;
        // Another request created the account for this identity first; use theirs, roll ours back.
        throw new LinkedConcurrently();
      }).catch(async (error: unknown) => {
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
      apiVersion: account.api_version,
    };
  };

  return new JwtStrategy(
    {
      jwtFromRequest: deps.fromBearer,
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
      passReqToCallback: true,
    },
    (req: Request, claims: { iss: string; sub: string; name?: unknown }, done: VerifiedCallback) => {
      if (typeof claims.sub !== 'string' || !claims.sub || !hasBoundedLifetime(claims)) {
        done(null, false, new InvalidTokenError());
        return;
      }
      settle(done, resolveExternalToken(claims, requestIdOf(req)));
    },
  );
}
