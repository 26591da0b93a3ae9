import type { Knex } from 'knex';
import type { components } from '../../../generated/api';
import type { AccessTokenCodec } from '../../infrastructure/access-tokens';
import type { AuthConfig } from '../../internal/config';
import { isScope, parseScopeList, type Scope } from '../../models/scopes';
import type { AuditEventDetails, AuditRepository, NewAuditEvent } from '../../repositories/audit.repository';
import type { ClientsRepository } from '../../repositories/clients.repository';
import type { SessionsRepository } from '../../repositories/sessions.repository';
import { OAuthError } from '../../utils/errors';
import { generateOpaqueToken, hashOpaqueToken, matchesOpaqueHash } from '../../utils/opaque-tokens';
import { isUuid } from '../../utils/uuid';
import type { AnonymousWriteContext } from '../../infrastructure/unit-of-work';
import { assertedClientId, CLIENT_ASSERTION_TYPE, type ClientAssertionVerifier } from './client-assertion';

export type TokenRequest = components['schemas']['TokenRequest'];
export type TokenResponse = components['schemas']['TokenResponse'];
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** The requested scopes, all of which must be allowed; none requested means all allowed ones. */
export function grantScopes(requested: string | undefined, allowed: readonly Scope[]): Scope[] {
  const asked = parseScopeList(requested);
  if (asked.length === 0) return [...allowed];
  const refused = asked.filter((scope) => !isScope(scope) || !allowed.includes(scope));
  if (refused.length > 0) throw new OAuthError('invalid_scope', `Scope not available: ${refused.join(' ')}`);
  return [...new Set(asked as Scope[])];
}

/** A security event of a session's holder, in the transaction that changed the session. */
export function sessionEvent(
  action: NewAuditEvent['action'],
  holder: { kind: 'user' | 'client'; id: string },
  sessionId: string,
  requestId: string,
  extra: AuditEventDetails = {},
): NewAuditEvent {
  return {
    actor_type: holder.kind,
    actor_id: holder.id,
    action,
    resource_type: holder.kind,
    resource_id: holder.id,
    request_id: requestId,
    details: { ...extra, session_id: sessionId },
  };
}

/** The client's credentials from one method only: the Basic header, or both fields of the body. */
export function clientCredentialsFrom(
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

export type GrantKit = ReturnType<typeof createGrantKit>;

/** What the grants and the revocation endpoint share: refusing a credential, and issuing tokens. */
export function createGrantKit(deps: {
  clients: ClientsRepository;
  sessions: SessionsRepository;
  audit: AuditRepository;
  codec: AccessTokenCodec;
  auth: Pick<AuthConfig, 'refreshTokenTtlSeconds'>;
  assertions: ClientAssertionVerifier;
}) {
  const { clients, sessions, audit, codec, assertions } = deps;

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

  return {
    recordFailedSignIn,

    /** A secret client's id and secret; a `private_key_jwt` client is refused here, whatever it sends. */
    async authenticateClient(
      credentials: ClientCredentials,
      requestId: string,
      grantType?: 'client_credentials',
    ): Promise<{ id: string; scopes: Scope[] }> {
      const wellFormed = isUuid(credentials.clientId);
      const client = wellFormed ? await clients.findAuthentication(credentials.clientId) : undefined;
      const reason = !client
        ? 'unknown_client'
        : client.secret_hash === null
          ? 'wrong_auth_method'
          : matchesOpaqueHash(credentials.clientSecret, client.secret_hash)
            ? undefined
            : 'wrong_secret';
      if (reason) {
        await recordFailedSignIn(
          requestId,
          { resource_type: 'client', resource_id: client ? credentials.clientId : null },
          {
            ...(grantType ? { grant_type: grantType } : {}),
            ...(wellFormed ? { client_id: credentials.clientId.toLowerCase() } : {}),
            reason,
          },
        );
        throw new OAuthError('invalid_client', 'Client authentication failed.');
      }
      return { id: credentials.clientId, scopes: client!.scopes };
    },

    /**
     * A `private_key_jwt` client by its signed assertion (RFC 7523 section 2.2). The assertion's `jti` is
     * spent in the request's transaction, so it is spent only if the request succeeds, and a second use,
     * concurrent or later, is refused. Every refusal records one `auth.sign_in_failed` row.
     */
    async authenticateClientAssertion(
      assertion: { type?: string; value: string; clientId?: string },
      context: AnonymousWriteContext,
      grantType?: 'client_credentials',
    ): Promise<{ id: string; scopes: Scope[] }> {
      if (assertion.type !== CLIENT_ASSERTION_TYPE) {
        throw new OAuthError('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}.`);
      }
      const clientId = assertedClientId(assertion.value);
      const wellFormed = clientId !== undefined && isUuid(clientId);
      const client = wellFormed ? await clients.findAuthentication(clientId) : undefined;
      const refuse = async (
        reason: 'unknown_client' | 'wrong_auth_method' | 'invalid_assertion' | 'assertion_replayed',
      ) => {
        await recordFailedSignIn(
          context.requestId,
          { resource_type: 'client', resource_id: client ? clientId! : null },
          {
            ...(grantType ? { grant_type: grantType } : {}),
            ...(wellFormed ? { client_id: clientId.toLowerCase() } : {}),
            reason,
          },
        );
        return new OAuthError('invalid_client', 'Client authentication failed.');
      };
      if (!client) throw await refuse('unknown_client');
      // A client_id sent beside the assertion must be the one it asserts (RFC 7521 section 4.2).
      if (assertion.clientId !== undefined && assertion.clientId.toLowerCase() !== clientId!.toLowerCase()) {
        throw await refuse('invalid_assertion');
      }
      if (client.token_endpoint_auth_method !== 'private_key_jwt') throw await refuse('wrong_auth_method');
      const verified = await assertions.verify(assertion.value, clientId!, client);
      if (!verified) throw await refuse('invalid_assertion');
      const replayed = new Error('assertion replayed');
      try {
        await context.transaction(async (trx) => {
          // Thrown, not returned: the transaction must roll back before the refusal's row is written alone.
          if (
            !(await clients.consumeAssertionJti(
              clientId!.toLowerCase(),
              verified.jti,
              verified.expiresAt,
              trx,
            ))
          )
            throw replayed;
        });
      } catch (error) {
        if (error === replayed) throw await refuse('assertion_replayed');
        throw error;
      }
      // The UUID as the database spells it: tokens and sessions compare it as text.
      return { id: clientId!.toLowerCase(), scopes: client.scopes };
    },

    async issueRefreshToken(sessionId: string, trx: Knex.Transaction): Promise<string> {
      const token = generateOpaqueToken('rt');
      const expiresAt = new Date(Date.now() + deps.auth.refreshTokenTtlSeconds * 1000);
      await sessions.insertRefreshToken({ tokenHash: hashOpaqueToken(token), sessionId, expiresAt }, trx);
      return token;
    },

    tokenResponse(
      sub: string,
      sid: string,
      scopes: Scope[],
      extra: { refreshToken?: string; clientId?: string },
    ): TokenResponse {
      const scope = scopes.join(' ');
      return {
        access_token: codec.sign({
          sub,
          sid,
          scope,
          ...(extra.clientId ? { clientId: extra.clientId } : {}),
        }),
        token_type: 'Bearer',
        expires_in: codec.ttlSeconds,
        scope,
        ...(extra.refreshToken ? { refresh_token: extra.refreshToken } : {}),
      };
    },
  };
}
