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
  revoke(
    token: string,
    basicAuth: ClientCredentials | undefined,
    bodyAuth: { client_id?: string; client_secret?: string },
    context: AnonymousWriteContext,
  ): Promise<void>;
}

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

  async function sessionOfToken(token: string): Promise<string | undefined> {
    if (token.startsWith('rt_')) return (await sessions.findRefreshToken(hashOpaqueToken(token)))?.session_id;
    try {
      return codec.verify(token, { ignoreExpiration: true }).sid;
    } catch {
      return undefined;
    }
  }

  return {
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
      const credentials = clientCredentialsFrom(basicAuth, bodyAuth);
      const client = credentials ? await kit.authenticateClient(credentials, context.requestId) : undefined;
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
      await context.transaction(async (trx) => {
        if (!(await sessions.revoke(sessionId, trx))) return;
        await audit.append(sessionEvent('auth.session_revoked', holder, sessionId, context.requestId), trx);
      });
    },
  };
}
