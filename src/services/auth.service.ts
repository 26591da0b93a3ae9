import type { Knex } from 'knex';
import type { AccessTokenCodec } from '../dependencies/access-tokens';
import type { Database } from '../dependencies/database';
import type { PasswordHasher } from '../dependencies/password-hasher';
import type { AuthConfig } from '../internal/config';
import { isScope, parseScopeList, ROLE_SCOPES, type Scope } from '../models/scopes';
import type { User } from '../models/user';
import type { AuditRepository } from '../repositories/audit.repository';
import type { ClientsRepository } from '../repositories/clients.repository';
import type { SessionsRepository } from '../repositories/sessions.repository';
import type { UsersRepository } from '../repositories/users.repository';
import { OAuthError } from '../utils/errors';
import { isUuid } from '../utils/uuid';
import { generateOpaqueToken, hashOpaqueToken, matchesOpaqueHash } from '../utils/opaque-tokens';
import type { components } from '../../generated/api';
import type { UserCreation } from './user-creation.service';

export type TokenRequest = components['schemas']['TokenRequest'];
export type TokenResponse = components['schemas']['TokenResponse'];
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface AuthService {
  register(input: { email: string; password: string; name: string }, requestId: string): Promise<User>;
  issueToken(request: TokenRequest, basicAuth: ClientCredentials | undefined): Promise<TokenResponse>;
  revoke(
    token: string,
    basicAuth: ClientCredentials | undefined,
    bodyAuth: { client_id?: string; client_secret?: string },
  ): Promise<void>;
}

export function createAuthService(deps: {
  db: Database;
  users: UsersRepository;
  clients: ClientsRepository;
  sessions: SessionsRepository;
  audit: AuditRepository;
  hasher: PasswordHasher;
  codec: AccessTokenCodec;
  userCreation: UserCreation;
  auth: Pick<AuthConfig, 'refreshTokenTtlSeconds'>;
}): AuthService {
  const { db, users, clients, sessions, hasher, codec, userCreation } = deps;

  /** The requested scopes, all of which must be allowed; none requested means all allowed ones. */
  const grantScopes = (requested: string | undefined, allowed: readonly Scope[]): Scope[] => {
    const asked = parseScopeList(requested);
    if (asked.length === 0) return [...allowed];
    const refused = asked.filter((scope) => !isScope(scope) || !allowed.includes(scope));
    if (refused.length > 0)
      throw new OAuthError('invalid_scope', `Scope not available: ${refused.join(' ')}`);
    return [...new Set(asked as Scope[])];
  };

  const issueRefreshToken = async (sessionId: string, trx: Knex): Promise<string> => {
    const token = generateOpaqueToken('rt');
    const expiresAt = new Date(Date.now() + deps.auth.refreshTokenTtlSeconds * 1000);
    await sessions.insertRefreshToken({ tokenHash: hashOpaqueToken(token), sessionId, expiresAt }, trx);
    return token;
  };

  const tokenResponse = (
    sub: string,
    sid: string,
    scopes: Scope[],
    extra: { refreshToken?: string; clientId?: string },
  ): TokenResponse => {
    const scope = scopes.join(' ');
    return {
      access_token: codec.sign({ sub, sid, scope, ...(extra.clientId ? { clientId: extra.clientId } : {}) }),
      token_type: 'Bearer',
      expires_in: codec.ttlSeconds,
      scope,
      ...(extra.refreshToken ? { refresh_token: extra.refreshToken } : {}),
    };
  };

  const authenticateClient = async (
    credentials: ClientCredentials,
  ): Promise<{ id: string; scopes: Scope[] }> => {
    const client = isUuid(credentials.clientId)
      ? await clients.findSecretHash(credentials.clientId)
      : undefined;
    if (!client || !matchesOpaqueHash(credentials.clientSecret, client.secret_hash)) {
      throw new OAuthError('invalid_client', 'Client authentication failed.');
    }
    return { id: credentials.clientId, scopes: client.scopes };
  };

  const passwordGrant = async (request: TokenRequest): Promise<TokenResponse> => {
    if (!request.username || !request.password) {
      throw new OAuthError('invalid_request', 'The password grant needs username and password.');
    }
    const account = await users.findCredentialsByEmail(request.username);
    if (!account?.password_hash) {
      await hasher.verifyAgainstDummy(request.password);
      throw new OAuthError('invalid_grant', 'The username or password is incorrect.');
    }
    if (!(await hasher.verify(account.password_hash, request.password))) {
      throw new OAuthError('invalid_grant', 'The username or password is incorrect.');
    }
    if (account.status !== 'active') throw new OAuthError('invalid_grant', 'The account is disabled.');
    const scopes = grantScopes(request.scope, ROLE_SCOPES[account.role]);
    return db.transaction(async (trx) => {
      const sessionId = await sessions.create({ userId: account.id, scope: scopes.join(' ') }, trx);
      const refreshToken = await issueRefreshToken(sessionId, trx);
      return tokenResponse(account.id, sessionId, scopes, { refreshToken });
    });
  };

  const refreshGrant = async (request: TokenRequest): Promise<TokenResponse> => {
    if (!request.refresh_token)
      throw new OAuthError('invalid_request', 'The refresh_token grant needs refresh_token.');
    const tokenHash = hashOpaqueToken(request.refresh_token);
    const outcome = await db.transaction(
      async (trx): Promise<{ refused: string } | { response: TokenResponse }> => {
        const consumed = await sessions.consumeRefreshToken(tokenHash, trx);
        if (!consumed) {
          const known = await sessions.findRefreshToken(tokenHash, trx);
          // A used token presented again means it leaked: end the whole session (RFC 9700 section 4.14).
          if (known?.used_at) await sessions.revoke(known.session_id, trx);
          return {
            refused: known?.used_at
              ? 'The refresh token was already used; the session has ended.'
              : 'The refresh token is invalid or expired.',
          };
        }
        const session = await sessions.findSession(consumed.session_id, trx);
        const account = session?.user_id ? await users.findCredentialsById(session.user_id, trx) : undefined;
        if (!session || session.revoked_at || !account || account.status !== 'active') {
          return { refused: 'The session has ended.' };
        }
        const sessionScopes = parseScopeList(session.scope).filter(isScope);
        const allowed = sessionScopes.filter((scope) => ROLE_SCOPES[account.role].includes(scope));
        const scopes = grantScopes(request.scope, allowed);
        const refreshToken = await issueRefreshToken(session.id, trx);
        return { response: tokenResponse(account.id, session.id, scopes, { refreshToken }) };
      },
    );
    if ('refused' in outcome) throw new OAuthError('invalid_grant', outcome.refused);
    return outcome.response;
  };

  const clientCredentialsGrant = async (
    request: TokenRequest,
    basicAuth: ClientCredentials | undefined,
  ): Promise<TokenResponse> => {
    const credentials = clientCredentialsFrom(basicAuth, request);
    if (!credentials) throw new OAuthError('invalid_client', 'Client authentication is required.');
    const client = await authenticateClient(credentials);
    const scopes = grantScopes(request.scope, client.scopes);
    const sessionId = await sessions.create({ clientId: client.id, scope: scopes.join(' ') });
    return tokenResponse(client.id, sessionId, scopes, { clientId: client.id });
  };

  return {
    async register(input, requestId) {
      const password = await userCreation.preparePassword(input.password);
      return db.transaction((trx) =>
        userCreation.create(
          trx,
          { email: input.email, name: input.name, password, role: 'user' },
          { via: 'registration', requestId },
        ),
      );
    },

    async issueToken(request, basicAuth) {
      if (basicAuth && (request.client_id || request.client_secret)) {
        throw new OAuthError('invalid_request', 'Authenticate the client by one method only.');
      }
      switch (request.grant_type) {
        case 'password':
          return passwordGrant(request);
        case 'refresh_token':
          return refreshGrant(request);
        case 'client_credentials':
          return clientCredentialsGrant(request, basicAuth);
      }
    },

    async revoke(token, basicAuth, bodyAuth) {
      const credentials = clientCredentialsFrom(basicAuth, bodyAuth);
      const client = credentials ? await authenticateClient(credentials) : undefined;
      const sessionId = await sessionOfToken(token);
      if (!sessionId) return;
      // A client may only revoke its own tokens (RFC 7009 section 2.1); anyone else answers the same 200.
      const session = await sessions.findSession(sessionId);
      if (client && session?.client_id !== client.id) return;
      await sessions.revoke(sessionId);
    },
  };

  async function sessionOfToken(token: string): Promise<string | undefined> {
    if (token.startsWith('rt_')) return (await sessions.findRefreshToken(hashOpaqueToken(token)))?.session_id;
    try {
      return codec.verify(token, { ignoreExpiration: true }).sid;
    } catch {
      return undefined;
    }
  }
}

function clientCredentialsFrom(
  basicAuth: ClientCredentials | undefined,
  body: { client_id?: string; client_secret?: string },
): ClientCredentials | undefined {
  if (basicAuth) return basicAuth;
  if (body.client_id && body.client_secret)
    return { clientId: body.client_id, clientSecret: body.client_secret };
  if (body.client_id || body.client_secret)
    throw new OAuthError('invalid_client', 'Send both client_id and client_secret.');
  return undefined;
}
