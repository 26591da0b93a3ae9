import { isScope, parseScopeList, ROLE_SCOPES } from '../../models/scopes';
import type { AuditRepository } from '../../repositories/audit.repository';
import type { SessionsRepository } from '../../repositories/sessions.repository';
import type { UsersRepository } from '../../repositories/users.repository';
import { OAuthError } from '../../utils/errors';
import { hashOpaqueToken } from '../../utils/opaque-tokens';
import type { AnonymousWriteContext } from '../../infrastructure/unit-of-work';
import { grantScopes, sessionEvent, type GrantKit, type TokenRequest, type TokenResponse } from './grant-kit';

/**
 * The refresh token grant (RFC 6749 section 6), with rotation: each refresh token is used once and its
 * session continues with a new one, within the scopes the session was granted and the account still has.
 */
export function createRefreshTokenGrant(deps: {
  users: UsersRepository;
  sessions: SessionsRepository;
  audit: AuditRepository;
  kit: GrantKit;
}) {
  const { users, sessions, audit, kit } = deps;
  return async (request: TokenRequest, context: AnonymousWriteContext): Promise<TokenResponse> => {
    if (!request.refresh_token)
      throw new OAuthError('invalid_request', 'The refresh_token grant needs refresh_token.');
    const { requestId } = context;
    const tokenHash = hashOpaqueToken(request.refresh_token);
    const outcome = await context.transaction(
      async (trx): Promise<{ refused: string } | { response: TokenResponse }> => {
        const consumed = await sessions.consumeRefreshToken(tokenHash, trx);
        if (!consumed) {
          const known = await sessions.findRefreshToken(tokenHash, trx);
          // A used token presented again means it leaked: end the whole session (RFC 9700 section 4.14),
          // in a transaction of its own, since this request is refused and its own rolls back.
          // Whoever presented it is not authenticated by it any more: the actor is anonymous.
          if (known?.used_at) {
            const sessionId = known.session_id;
            context.afterEnd(async (own) => {
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
        const refreshToken = await kit.issueRefreshToken(session.id, trx);
        await audit.append(
          sessionEvent('auth.token_refreshed', { kind: 'user', id: account.id }, session.id, requestId, {
            grant_type: 'refresh_token',
          }),
          trx,
        );
        return { response: kit.tokenResponse(account.id, session.id, scopes, { refreshToken }) };
      },
    );
    if ('refused' in outcome) throw new OAuthError('invalid_grant', outcome.refused);
    return outcome.response;
  };
}
