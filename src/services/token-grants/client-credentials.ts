import type { AuditRepository } from '../../repositories/audit.repository';
import type { SessionsRepository } from '../../repositories/sessions.repository';
import { OAuthError } from '../../utils/errors';
import type { AnonymousWriteContext } from '../../infrastructure/unit-of-work';
import {
  clientCredentialsFrom,
  grantScopes,
  sessionEvent,
  type ClientCredentials,
  type GrantKit,
  type TokenRequest,
  type TokenResponse,
} from './grant-kit';

/** The client credentials grant (RFC 6749 section 4.4): a partner client's session, with no refresh token. */
export function createClientCredentialsGrant(deps: {
  sessions: SessionsRepository;
  audit: AuditRepository;
  kit: GrantKit;
}) {
  const { sessions, audit, kit } = deps;
  return async (
    request: TokenRequest,
    basicAuth: ClientCredentials | undefined,
    context: AnonymousWriteContext,
  ): Promise<TokenResponse> => {
    const authenticateBySecret = () => {
      const credentials = clientCredentialsFrom(basicAuth, request);
      if (!credentials) throw new OAuthError('invalid_client', 'Client authentication is required.');
      return kit.authenticateClient(credentials, context.requestId, 'client_credentials');
    };
    const client = request.client_assertion
      ? await kit.authenticateClientAssertion(
          {
            type: request.client_assertion_type,
            value: request.client_assertion,
            ...(request.client_id ? { clientId: request.client_id } : {}),
          },
          context,
          'client_credentials',
        )
      : await authenticateBySecret();
    const scopes = grantScopes(request.scope, client.scopes);
    const sessionId = await context.transaction(async (trx) => {
      const id = await sessions.create({ clientId: client.id, scope: scopes.join(' ') }, trx);
      await audit.append(
        sessionEvent('auth.signed_in', { kind: 'client', id: client.id }, id, context.requestId, {
          grant_type: 'client_credentials',
        }),
        trx,
      );
      return id;
    });
    return kit.tokenResponse(client.id, sessionId, scopes, { clientId: client.id });
  };
}
