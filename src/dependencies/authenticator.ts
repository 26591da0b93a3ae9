import type { Request } from 'express';
import jwt from 'jsonwebtoken';
import { Passport } from 'passport';
import { ExtractJwt } from 'passport-jwt';
import type { Logger } from 'pino';
import type { AuthConfig } from '../internal/config';
import type { Principal } from '../models/principal';
import type { Scope } from '../models/scopes';
import type { ApiKeysRepository } from '../repositories/api-keys.repository';
import type { ExternalIdentitiesRepository } from '../repositories/external-identities.repository';
import type { SessionsRepository } from '../repositories/sessions.repository';
import type { UsersRepository } from '../repositories/users.repository';
import type { UserCreation } from '../services/user-creation.service';
import {
  AppError,
  InsufficientScopeError,
  InvalidTokenError,
  MissingCredentialsError,
} from '../utils/errors';
import type { AccessTokenClaims, AccessTokenCodec } from '../infrastructure/access-tokens';
import type { Database } from '../infrastructure/database';
import {
  createExternalTokenStrategy,
  createOwnTokenResolver,
  createOwnTokenStrategy,
} from './token-strategies';
import type { VerifiedTokens } from './verified-tokens';
import { API_KEY_HEADER, createApiKeyResolver } from './api-key-resolver';

export type SecuritySchemeName = 'bearerAuth' | 'oauth2' | 'apiKeyAuth';
/** express-openapi-validator calls the handler named like the scheme with the scopes the operation requires. */
export type SecurityHandlers = Record<
  SecuritySchemeName,
  (req: Request, scopes: string[]) => Promise<boolean>
>;

const OWN_STRATEGY = 'own-jwt';
const EXTERNAL_STRATEGY = 'external-jwt';

export interface Authenticator {
  securityHandlers: SecurityHandlers;
  /**
   * The pinned API version of the caller whose credential the request carries (a bearer token first, else
   * an API key); undefined when it carries none or it does not resolve (the security handlers then say
   * why). The principal is kept for the security handlers: the credential is still resolved once.
   */
  pinnedVersion: (req: Request) => Promise<string | undefined>;
}

export function createAuthenticator(deps: {
  db: Database;
  auth: Pick<AuthConfig, 'external'>;
  codec: AccessTokenCodec;
  verifiedTokens: VerifiedTokens<AccessTokenClaims>;
  sessions: SessionsRepository;
  users: UsersRepository;
  externalIdentities: ExternalIdentitiesRepository;
  apiKeys: ApiKeysRepository;
  userCreation: UserCreation;
  logger: Logger;
}): Authenticator {
  const { codec, verifiedTokens, sessions, users, externalIdentities, auth, logger } = deps;
  const passport = new Passport();
  const fromBearer = ExtractJwt.fromAuthHeaderAsBearerToken();
  const resolveOwnToken = createOwnTokenResolver({ sessions });

  passport.use(
    OWN_STRATEGY,
    createOwnTokenStrategy({ codec, resolve: resolveOwnToken, verifiedTokens, fromBearer }),
  );
  const external = auth.external;
  if (external) {
    passport.use(
      EXTERNAL_STRATEGY,
      createExternalTokenStrategy({
        external,
        db: deps.db,
        users,
        userCreation: deps.userCreation,
        externalIdentities,
        logger,
        fromBearer,
      }),
    );
  }

  const authenticate = async (req: Request): Promise<Principal> => {
    const token = fromBearer(req);
    if (!token) throw new MissingCredentialsError();
    // One of our tokens verified before and not expired: only the session check is left to do.
    const verified = verifiedTokens.get(token);
    if (verified) return resolveOwnToken(verified);
    return new Promise((resolve, reject) => {
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
  };

  const resolveApiKey = createApiKeyResolver({ apiKeys: deps.apiKeys });
  const authenticateApiKey = async (req: Request): Promise<Principal> => {
    const key = req.get(API_KEY_HEADER);
    if (!key) throw new MissingCredentialsError();
    return resolveApiKey(key);
  };

  // The bearer schemes of an operation's security requirements share one resolution per request, and so
  // do API keys: each credential is looked up once, whichever schemes accept it.
  const bearerPrincipals = new WeakMap<Request, Promise<Principal>>();
  const apiKeyPrincipals = new WeakMap<Request, Promise<Principal>>();

  const principalOf = (
    principals: WeakMap<Request, Promise<Principal>>,
    resolve: (req: Request) => Promise<Principal>,
    req: Request,
  ): Promise<Principal> => {
    let pending = principals.get(req);
    if (!pending) {
      pending = resolve(req);
      principals.set(req, pending);
    }
    return pending;
  };

  const authorizer =
    (principals: WeakMap<Request, Promise<Principal>>, resolve: (req: Request) => Promise<Principal>) =>
    async (req: Request, requiredScopes: string[]): Promise<boolean> => {
      try {
        const principal = await principalOf(principals, resolve, req);
        if (!requiredScopes.every((scope) => principal.scopes.has(scope as Scope))) {
          throw new InsufficientScopeError(requiredScopes);
        }
        req.principal = principal;
        // Another scheme may have failed first; this one passing clears it for good.
        if (req.res) {
          req.res.locals.authSucceeded = true;
          delete req.res.locals.authFailure;
        }
        return true;
      } catch (error) {
        // The schemes run concurrently and the problem tells the failure that matters: never one after a
        // scheme passed (a later validation error must stay itself), and a credential that was not sent
        // never hides why the one that was sent failed.
        const locals = req.res?.locals;
        if (
          locals &&
          !locals.authSucceeded &&
          !(error instanceof MissingCredentialsError && locals.authFailure !== undefined)
        )
          locals.authFailure = error;
        throw new SecurityHandlerFailure(
          error instanceof InsufficientScopeError ? 403 : error instanceof AppError ? 401 : 500,
          error,
        );
      }
    };

  const authorizeBearer = authorizer(bearerPrincipals, authenticate);
  const pinnedVersion = async (req: Request): Promise<string | undefined> => {
    const pending = fromBearer(req)
      ? principalOf(bearerPrincipals, authenticate, req)
      : req.get(API_KEY_HEADER)
        ? principalOf(apiKeyPrincipals, authenticateApiKey, req)
        : undefined;
    try {
      return (await pending)?.apiVersion;
    } catch {
      return undefined;
    }
  };
  return {
    pinnedVersion,
    securityHandlers: {
      bearerAuth: authorizeBearer,
      oauth2: authorizeBearer,
      apiKeyAuth: authorizer(apiKeyPrincipals, authenticateApiKey),
    },
  };
}

/** What express-openapi-validator expects a security handler to throw: it keeps only `status`. */
class SecurityHandlerFailure extends Error {
  constructor(
    readonly status: number,
    readonly error: unknown,
  ) {
    super('security handler refused the request');
  }
}

/** The principal a secured handler runs for; its absence means the operation was routed without security. */
export function requirePrincipal(req: Pick<Request, 'principal' | 'method' | 'path'>): Principal {
  if (!req.principal) throw new Error(`No principal on a secured route: ${req.method} ${req.path}`);
  return req.principal;
}
