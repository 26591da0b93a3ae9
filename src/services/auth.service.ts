import type { Knex } from 'knex';
import type { components } from '../../generated/api';
import type { AccessTokenCodec } from '../infrastructure/access-tokens';
import type { PasswordHasher } from '../infrastructure/password-hasher';
import type { AuthConfig } from '../internal/config';
import type { AuditRepository } from '../repositories/audit.repository';
import type { ClientsRepository } from '../repositories/clients.repository';
import type { SessionsRepository } from '../repositories/sessions.repository';
import type { UsersRepository } from '../repositories/users.repository';
import { OAuthError } from '../utils/errors';
import { hashOpaqueToken } from '../utils/opaque-tokens';
import type { AnonymousWriteContext } from '../infrastructure/unit-of-work';
import { createClientCredentialsGrant } from './token-grants/client-credentials';
import {
  clientCredentialsFrom,
  createGrantKit,
  sessionEvent,
  type ClientCredentials,
  type TokenRequest,
  type TokenResponse,
} from './token-grants/grant-kit';
import type { ClientAssertionVerifier } from './token-grants/client-assertion';
import { createPasswordGrant } from './token-grants/password';
import { createRefreshTokenGrant } from './token-grants/refresh-token';

/** The OAuth endpoints: the token endpoint, which hands each grant to its own module, and revocation. */
export interface AuthService {
  issueToken(
    request: TokenRequest,
    basicAuth: ClientCredentials | undefined,
    context: AnonymousWriteContext,
  ): Promise<TokenResponse>;
  /**
   * Whether a token response stored for an Idempotency-Key may be replayed: only while it is still a lost
   * answer, its access token unexpired, its session live and its refresh token (if any) unused. Once the
   * client used what it got, a replay is no retry but a second use of the credentials that earned it,
   * and runs as one: a spent refresh token then counts as reused and ends its session.
   */
  isReplayable(encodedResponse: string | null): Promise<boolean>;
  /**
   * RFC 7662: what a token of this API is, for an authenticated partner client only. Any token that is not
   * live answers `{ active: false }`, whatever the reason.
   */
  introspect(
    request: IntrospectionRequest,
    basicAuth: ClientCredentials | undefined,
    context: AnonymousWriteContext,
  ): Promise<IntrospectionResponse>;
  revoke(
    token: string,
    basicAuth: ClientCredentials | undefined,
    bodyAuth: {
      client_id?: string;
      client_secret?: string;
      client_assertion?: string;
      client_assertion_type?: string;
    },
    context: AnonymousWriteContext,
  ): Promise<void>;
}

export type IntrospectionRequest = components['schemas']['IntrospectionRequest'];
export type IntrospectionResponse = components['schemas']['IntrospectionResponse'];

const INACTIVE: IntrospectionResponse = { active: false };

export function createAuthService(deps: {
  users: UsersRepository;
  clients: ClientsRepository;
  sessions: SessionsRepository;
  audit: AuditRepository;
  hasher: PasswordHasher;
  codec: AccessTokenCodec;
  auth: Pick<AuthConfig, 'refreshTokenTtlSeconds'>;
  assertions: ClientAssertionVerifier;
}): AuthService {
  const { sessions, audit, codec } = deps;
  const kit = createGrantKit(deps);
  const passwordGrant = createPasswordGrant({ ...deps, kit });
  const refreshTokenGrant = createRefreshTokenGrant({ ...deps, kit });
  const clientCredentialsGrant = createClientCredentialsGrant({ ...deps, kit });

  async function sessionOfToken(token: string, trx: Knex.Transaction): Promise<string | undefined> {
    if (token.startsWith('rt_'))
      return (await sessions.findRefreshToken(hashOpaqueToken(token), trx))?.session_id;
    try {
      return codec.verify(token, { ignoreExpiration: true }).sid;
    } catch {
      return undefined;
    }
  }

  /** A live access token's claims, its session and holder checked as a request with it would be. */
  async function introspectAccessToken(token: string, trx: Knex.Transaction): Promise<IntrospectionResponse> {
    let claims;
    try {
      claims = codec.verify(token);
    } catch {
      return INACTIVE;
    }
    const holder = claims.client_id ? 'client' : 'user';
    const row = await sessions.findPrincipal(claims.sid, holder, trx);
    if (!row || row.revoked_at) return INACTIVE;
    const live =
      holder === 'user'
        ? row.user_id === claims.sub && row.status === 'active' && !!row.role
        : row.client_id === claims.sub && !!row.client_scopes;
    if (!live) return INACTIVE;
    return {
      active: true,
      scope: claims.scope,
      ...(claims.client_id ? { client_id: claims.client_id } : {}),
      sub: claims.sub,
      exp: claims.exp!,
      iat: claims.iat!,
      token_type: 'Bearer',
    };
  }

  /** A refresh token that is unused, unexpired, and whose session and account are live. */
  async function introspectRefreshToken(
    token: string,
    trx: Knex.Transaction,
  ): Promise<IntrospectionResponse> {
    const refreshToken = await sessions.findRefreshToken(hashOpaqueToken(token), trx);
    if (!refreshToken || refreshToken.used_at || refreshToken.expires_at <= new Date()) return INACTIVE;
    // Refresh tokens are issued to users only (the client credentials grant issues none).
    const row = await sessions.findPrincipal(refreshToken.session_id, 'user', trx);
    if (!row || row.revoked_at || !row.user_id || row.status !== 'active' || !row.role) return INACTIVE;
    return {
      active: true,
      scope: row.scope,
      sub: row.user_id,
      exp: Math.floor(refreshToken.expires_at.getTime() / 1000),
      token_type: 'refresh_token',
    };
  }

  /** The calling client by whichever one method it used, or undefined when it sent no credentials. */
  async function authenticateCaller(
    basicAuth: ClientCredentials | undefined,
    body: {
      client_id?: string;
      client_secret?: string;
      client_assertion?: string;
      client_assertion_type?: string;
    },
    context: AnonymousWriteContext,
  ): Promise<{ id: string } | undefined> {
    if (body.client_assertion || body.client_assertion_type) {
      if (basicAuth || body.client_secret) {
        throw new OAuthError('invalid_request', 'Authenticate the client by one method only.');
      }
      return kit.authenticateClientAssertion(
        {
          type: body.client_assertion_type,
          value: body.client_assertion ?? '',
          ...(body.client_id ? { clientId: body.client_id } : {}),
        },
        context,
      );
    }
    const credentials = clientCredentialsFrom(basicAuth, body);
    return credentials ? kit.authenticateClient(credentials, context.requestId) : undefined;
  }

  return {
    async introspect(request, basicAuth, context) {
      if (basicAuth && (request.client_id || request.client_secret)) {
        throw new OAuthError('invalid_request', 'Authenticate the client by one method only.');
      }
      // Nothing about the token is read before the caller is known (RFC 7662 section 2.1).
      const client = await authenticateCaller(basicAuth, request, context);
      if (!client) throw new OAuthError('invalid_client', 'Client authentication is required.');
      // In the request's transaction: an assertion's jti was spent in it, and with one connection (PGlite)
      // a read on the pool would wait for that transaction for ever.
      return context.transaction((trx) =>
        request.token.startsWith('rt_')
          ? introspectRefreshToken(request.token, trx)
          : introspectAccessToken(request.token, trx),
      );
    },

    async issueToken(request, basicAuth, context) {
      if (basicAuth && (request.client_id || request.client_secret)) {
        throw new OAuthError('invalid_request', 'Authenticate the client by one method only.');
      }
      if (
        (request.client_assertion || request.client_assertion_type) &&
        (basicAuth || request.client_secret)
      ) {
        throw new OAuthError('invalid_request', 'Authenticate the client by one method only.');
      }
      switch (request.grant_type) {
        case 'password':
          return passwordGrant(request, context);
        case 'refresh_token':
          return refreshTokenGrant(request, context);
        case 'client_credentials':
          return clientCredentialsGrant(request, basicAuth, context);
      }
    },

    async isReplayable(encodedResponse) {
      if (encodedResponse === null) return false;
      const stored = JSON.parse(encodedResponse) as Partial<TokenResponse>;
      let sessionId: string;
      try {
        sessionId = codec.verify(stored.access_token ?? '').sid;
      } catch {
        return false;
      }
      const session = await sessions.findSession(sessionId);
      if (!session || session.revoked_at) return false;
      if (!stored.refresh_token) return true;
      const refreshToken = await sessions.findRefreshToken(hashOpaqueToken(stored.refresh_token));
      return !!refreshToken && !refreshToken.used_at && refreshToken.expires_at > new Date();
    },

    async revoke(token, basicAuth, bodyAuth, context) {
      const client = await authenticateCaller(basicAuth, bodyAuth, context);
      // In the request's transaction: an assertion's jti may have been spent in it (see introspect).
      await context.transaction(async (trx) => {
        const sessionId = await sessionOfToken(token, trx);
        if (!sessionId) return;
        // A client may only revoke its own tokens (RFC 7009 section 2.1); anyone else answers the same 200.
        const session = await sessions.findSession(sessionId, trx);
        if (!session || (client && session.client_id !== client.id)) return;
        // Without client authentication, holding the session's token is the authority RFC 7009 accepts:
        // the actor is the session's holder.
        const holder = session.user_id
          ? { kind: 'user' as const, id: session.user_id }
          : { kind: 'client' as const, id: session.client_id! };
        if (!(await sessions.revoke(sessionId, trx))) return;
        await audit.append(sessionEvent('auth.session_revoked', holder, sessionId, context.requestId), trx);
      });
    },
  };
}
