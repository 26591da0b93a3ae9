import type { Knex } from 'knex';
import type { AccessTokenCodec } from '../infrastructure/access-tokens';
import type { PasswordHasher } from '../infrastructure/password-hasher';
import type { AuthConfig } from '../internal/config';
import { isScope, parseScopeList, ROLE_SCOPES, type Scope } from '../models/scopes';
import type { User } from '../models/user';
import type { AuditEventDetails, AuditRepository, NewAuditEvent } from '../repositories/audit.repository';
import type { ClientsRepository } from '../repositories/clients.repository';
import type { SessionsRepository } from '../repositories/sessions.repository';
import type { UsersRepository } from '../repositories/users.repository';
import { OAuthError } from '../utils/errors';
import { isUuid } from '../utils/uuid';
import { generateOpaqueToken, hashOpaqueToken, matchesOpaqueHash } from '../utils/opaque-tokens';
import type { components } from '../../generated/api';
import type { UserCreation } from './user-creation.service';
import type { UnitOfWork } from '../infrastructure/unit-of-work';

export type TokenRequest = components['schemas']['TokenRequest'];
export type TokenResponse = components['schemas']['TokenResponse'];
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

type FailureReason = NonNullable<AuditEventDetails['reason']>;

// What a failed sign-in records of the identifier tried: only what has its shape, because a password
// or secret typed into the wrong field must never reach the audit log.
const EMAIL_SHAPE = /^[^\s@]{1,200}@[^\s@]{1,200}$/;
const MAX_USERNAME_RECORDED = 254;

export interface AuthService {
  register(
    input: { email: string; password: string; name: string },
    unit: UnitOfWork,
    requestId: string,
  ): Promise<User>;
  issueToken(
    request: TokenRequest,
    basicAuth: ClientCredentials | undefined,
    unit: UnitOfWork,
    requestId: string,
  ): Promise<TokenResponse>;
  revoke(
    token: string,
    basicAuth: ClientCredentials | undefined,
    bodyAuth: { client_id?: string; client_secret?: string },
    unit: UnitOfWork,
    requestId: string,
  ): Promise<void>;
}

export function createAuthService(deps: {
  users: UsersRepository;
  clients: ClientsRepository;
  sessions: SessionsRepository;
  audit: AuditRepository;
  hasher: PasswordHasher;
  codec: AccessTokenCodec;
  userCreation: UserCreation;
  auth: Pick<AuthConfig, 'refreshTokenTtlSeconds'>;
}): AuthService {
  const { users, clients, sessions, hasher, codec, audit, userCreation } = deps;

  /**
   * A refused credential, recorded although the request fails (its own statement, no transaction to join).
   * Every refusal writes exactly one row whether or not the account exists, after the same hashing work,
   * so the answer's timing says no more than its body does.
   */
  const recordFailedSignIn = (
    requestId: string,
    target: { resource_type: 'user' | 'client'; resource_id: string | null },
    details: AuditEventDetails,
  ): Promise<void> =>
    audit.appendAlone({
      actor_type: 'anonymous',
      actor_id: null,
      action: 'auth.sign_in_failed',
      ...target,
      request_id: requestId,
      details,
    });

  /** A security event of a session's holder, in the transaction that changed the session. */
  const sessionEvent = (
    action: NewAuditEvent['action'],
    holder: { kind: 'user' | 'client'; id: string },
    sessionId: string,
    requestId: string,
    extra: AuditEventDetails = {},
  ): NewAuditEvent => ({
    actor_type: holder.kind,
    actor_id: holder.id,
    action,
    resource_type: holder.kind,
    resource_id: holder.id,
    request_id: requestId,
    details: { ...extra, session_id: sessionId },
  });

  /** The requested scopes, all of which must be allowed; none requested means all allowed ones. */
  const grantScopes = (requested: string | undefined, allowed: readonly Scope[]): Scope[] => {
    const asked = parseScopeList(requested);
    if (asked.length === 0) return [...allowed];
    const refused = asked.filter((scope) => !isScope(scope) || !allowed.includes(scope));
    if (refused.length > 0)
      throw new OAuthError('invalid_scope', `Scope not available: ${refused.join(' ')}`);
    return [...new Set(asked as Scope[])];
  };

  const issueRefreshToken = async (sessionId: string, trx: Knex.Transaction): Promise<string> => {
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
    requestId: string,
    grantType?: 'client_credentials',
  ): Promise<{ id: string; scopes: Scope[] }> => {
    const wellFormed = isUuid(credentials.clientId);
    const client = wellFormed ? await clients.findSecretHash(credentials.clientId) : undefined;
    if (!client || !matchesOpaqueHash(credentials.clientSecret, client.secret_hash)) {
      await recordFailedSignIn(
        requestId,
        { resource_type: 'client', resource_id: client ? credentials.clientId : null },
        {
          ...(grantType ? { grant_type: grantType } : {}),
          ...(wellFormed ? { client_id: credentials.clientId.toLowerCase() } : {}),
          reason: client ? 'wrong_secret' : 'unknown_client',
        },
      );
      throw new OAuthError('invalid_client', 'Client authentication failed.');
    }
    return { id: credentials.clientId, scopes: client.scopes };
  };

  const passwordGrant = async (
    request: TokenRequest,
    unit: UnitOfWork,
    requestId: string,
  ): Promise<TokenResponse> => {
    if (!request.username || !request.password) {
      throw new OAuthError('invalid_request', 'The password grant needs username and password.');
    }
    const account = await users.findCredentialsByEmail(request.username);
    let refused: FailureReason | undefined;
    if (!account?.password_hash) {
      await hasher.verifyAgainstDummy(request.password);
      refused = account ? 'no_password' : 'unknown_account';
    } else if (!(await hasher.verify(account.password_hash, request.password))) {
      refused = 'wrong_password';
    } else if (account.status !== 'active') {
      refused = 'account_disabled';
    }
    if (refused || !account) {
      const username = request.username.normalize('NFC').trim();
      await recordFailedSignIn(
        requestId,
        { resource_type: 'user', resource_id: account?.id ?? null },
        {
          grant_type: 'password',
          ...(EMAIL_SHAPE.test(username) ? { username: username.slice(0, MAX_USERNAME_RECORDED) } : {}),
          // `refused` is always set here; `!account` above only lets the compiler see the account below.
          reason: refused ?? 'unknown_account',
        },
      );
      throw new OAuthError(
        'invalid_grant',
        refused === 'account_disabled'
          ? 'The account is disabled.'
          : 'The username or password is incorrect.',
      );
    }
    const { id: userId, role } = account;
    const scopes = grantScopes(request.scope, ROLE_SCOPES[role]);
    return unit.transaction(async (trx) => {
      const sessionId = await sessions.create({ userId, scope: scopes.join(' ') }, trx);
      const refreshToken = await issueRefreshToken(sessionId, trx);
      await audit.append(
        sessionEvent('auth.signed_in', { kind: 'user', id: userId }, sessionId, requestId, {
          grant_type: 'password',
        }),
        trx,
      );
      return tokenResponse(userId, sessionId, scopes, { refreshToken });
    });
  };

  const refreshGrant = async (
    request: TokenRequest,
    unit: UnitOfWork,
    requestId: string,
  ): Promise<TokenResponse> => {
    if (!request.refresh_token)
      throw new OAuthError('invalid_request', 'The refresh_token grant needs refresh_token.');
    const tokenHash = hashOpaqueToken(request.refresh_token);
    const outcome = await unit.transaction(
      async (trx): Promise<{ refused: string } | { response: TokenResponse }> => {
        const consumed = await sessions.consumeRefreshToken(tokenHash, trx);
        if (!consumed) {
          const known = await sessions.findRefreshToken(tokenHash, trx);
          // A used token presented again means it leaked: end the whole session (RFC 9700 section 4.14),
          // in a transaction of its own, since this request is refused and its own rolls back.
          // Whoever presented it is not authenticated by it any more: the actor is anonymous.
          if (known?.used_at) {
            const sessionId = known.session_id;
            unit.afterEnd(async (own) => {
              await sessions.revoke(sessionId, own);
              const session = await sessions.findSession(sessionId, own);
              await audit.append(
                {
                  actor_type: 'anonymous',
                  actor_id: null,
                  action: 'auth.refresh_token_reused',
                  resource_type: 'user',
                  resource_id: session?.user_id ?? null,
                  request_id: requestId,
                  details: { grant_type: 'refresh_token', session_id: sessionId },
                },
                own,
              );
            });
          }
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
        await audit.append(
          sessionEvent('auth.token_refreshed', { kind: 'user', id: account.id }, session.id, requestId, {
            grant_type: 'refresh_token',
          }),
          trx,
        );
        return { response: tokenResponse(account.id, session.id, scopes, { refreshToken }) };
      },
    );
    if ('refused' in outcome) throw new OAuthError('invalid_grant', outcome.refused);
    return outcome.response;
  };

  const clientCredentialsGrant = async (
    request: TokenRequest,
    basicAuth: ClientCredentials | undefined,
    unit: UnitOfWork,
    requestId: string,
  ): Promise<TokenResponse> => {
    const credentials = clientCredentialsFrom(basicAuth, request);
    if (!credentials) throw new OAuthError('invalid_client', 'Client authentication is required.');
    const client = await authenticateClient(credentials, requestId, 'client_credentials');
    const scopes = grantScopes(request.scope, client.scopes);
    const sessionId = await unit.transaction(async (trx) => {
      const id = await sessions.create({ clientId: client.id, scope: scopes.join(' ') }, trx);
      await audit.append(
        sessionEvent('auth.signed_in', { kind: 'client', id: client.id }, id, requestId, {
          grant_type: 'client_credentials',
        }),
        trx,
      );
      return id;
    });
    return tokenResponse(client.id, sessionId, scopes, { clientId: client.id });
  };

  return {
    async register(input, unit, requestId) {
      const password = await userCreation.preparePassword(input.password);
      return userCreation.create(
        unit,
        { email: input.email, name: input.name, password, role: 'user' },
        { via: 'registration', requestId },
      );
    },

    async issueToken(request, basicAuth, unit, requestId) {
      if (basicAuth && (request.client_id || request.client_secret)) {
        throw new OAuthError('invalid_request', 'Authenticate the client by one method only.');
      }
      switch (request.grant_type) {
        case 'password':
          return passwordGrant(request, unit, requestId);
        case 'refresh_token':
          return refreshGrant(request, unit, requestId);
        case 'client_credentials':
          return clientCredentialsGrant(request, basicAuth, unit, requestId);
      }
    },

    async revoke(token, basicAuth, bodyAuth, unit, requestId) {
      const credentials = clientCredentialsFrom(basicAuth, bodyAuth);
      const client = credentials ? await authenticateClient(credentials, requestId) : undefined;
      const sessionId = await sessionOfToken(token);
      if (!sessionId) return;
      // A client may only revoke its own tokens (RFC 7009 section 2.1); anyone else answers the same 200.
      const session = await sessions.findSession(sessionId);
      if (!session || (client && session.client_id !== client.id)) return;
      // Without client authentication, holding the session's token is the authority RFC 7009 accepts:
      // the actor is the session's holder.
      const holder = session.user_id
        ? { kind: 'user' as const, id: session.user_id }
        : { kind: 'client' as const, id: session.client_id! };
      await unit.transaction(async (trx) => {
        if (!(await sessions.revoke(sessionId, trx))) return;
        await audit.append(sessionEvent('auth.session_revoked', holder, sessionId, requestId), trx);
      });
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
