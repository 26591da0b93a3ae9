import type { PasswordHasher } from '../../infrastructure/password-hasher';
import { ROLE_SCOPES } from '../../models/scopes';
import type { AuditEventDetails, AuditRepository } from '../../repositories/audit.repository';
import type { SessionsRepository } from '../../repositories/sessions.repository';
import type { UsersRepository } from '../../repositories/users.repository';
import { OAuthError } from '../../utils/errors';
import type { AnonymousWriteContext } from '../../infrastructure/unit-of-work';
import { grantScopes, sessionEvent, type GrantKit, type TokenRequest, type TokenResponse } from './grant-kit';

type FailureReason = NonNullable<AuditEventDetails['reason']>;

// What a failed sign-in records of the identifier tried: only what has its shape, because a password
// or secret typed into the wrong field must never reach the audit log.
const EMAIL_SHAPE = /^[^\s@]{1,200}@[^\s@]{1,200}$/;
const MAX_USERNAME_RECORDED = 254;

/** The resource owner password grant (RFC 6749 section 4.3): a new session with a refresh token. */
export function createPasswordGrant(deps: {
  users: UsersRepository;
  sessions: SessionsRepository;
  audit: AuditRepository;
  hasher: PasswordHasher;
  kit: GrantKit;
}) {
  const { users, sessions, audit, hasher, kit } = deps;
  return async (request: TokenRequest, context: AnonymousWriteContext): Promise<TokenResponse> => {
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
      await kit.recordFailedSignIn(
        context.requestId,
        { resource_type: 'user', resource_id: account?.id ?? null },
        {
          grant_type: 'password',
          // Cut by code points, as the spec counts them: a cut by UTF-16 units can split an emoji in two.
          ...(EMAIL_SHAPE.test(username)
            ? { username: Array.from(username).slice(0, MAX_USERNAME_RECORDED).join('') }
            : {}),
          // `refused` is always set here; `!account` above only lets the compiler see the account below.
          reason: refused ?? 'unknown_account',
        },
      );
      // A disabled account answers as a wrong password does, or the answer would confirm the password;
      // the audit row keeps the real reason for administrators.
      throw new OAuthError('invalid_grant', 'The username or password is incorrect.');
    }
    const { id: userId, role } = account;
    const scopes = grantScopes(request.scope, ROLE_SCOPES[role]);
    return context.transaction(async (trx) => {
      const sessionId = await sessions.create({ userId, scope: scopes.join(' ') }, trx);
      const refreshToken = await kit.issueRefreshToken(sessionId, trx);
      await audit.append(
        sessionEvent('auth.signed_in', { kind: 'user', id: userId }, sessionId, context.requestId, {
          grant_type: 'password',
        }),
        trx,
      );
      return kit.tokenResponse(userId, sessionId, scopes, { refreshToken });
    });
  };
}
