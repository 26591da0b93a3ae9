import type { Request, RequestHandler } from 'express';
import type { OperationEntry } from '../internal/openapi-document';
import { parseBasicClientCredentials } from './basic-auth';
import type { CallerCostClass } from './caller-rate-limit';
import type { AuthRateLimits } from './rate-limit';
import { assertedClientId } from '../services/token-grants/client-assertion';

/** The policies an operation may name in its `x-rate-limits` extension; also its `RateLimit-Policy` names. */
export const RATE_LIMIT_POLICIES = [
  'caller-read',
  'caller-list',
  'caller-write',
  'auth-ip',
  'auth-account-register',
  'auth-account-token',
  'auth-account-token-new-addresses',
  'auth-account-revoke',
  'auth-account-introspect',
  'auth-account-password',
  'token-grants-client',
] as const;
export type RateLimitPolicy = (typeof RATE_LIMIT_POLICIES)[number];

/**
 * The account a token or revocation request tries credentials for: a username or a client id (form, Basic,
 * or the client a `private_key_jwt` assertion claims to be, read unverified: it only picks the counter).
 */
function tokenRequestAccount(req: Request): string | undefined {
  const body = req.body as { username?: string; client_id?: string; client_assertion?: string };
  if (body.username ?? body.client_id) return body.username ?? body.client_id;
  const asserted = assertedClientId(body.client_assertion);
  if (asserted) return asserted;
  try {
    return parseBasicClientCredentials(req.headers.authorization)?.clientId;
  } catch {
    return undefined;
  }
}

/** The client a client-credentials grant asks a token for (undefined for the other grants). */
function clientCredentialsGrantClient(req: Request): string | undefined {
  const { grant_type: grantType } = req.body as { grant_type?: string };
  return grantType === 'client_credentials' ? tokenRequestAccount(req) : undefined;
}

/**
 * What each policy counts. Which operations a policy guards is the spec's to say (`x-rate-limits`); one
 * limiter per policy, so `auth-ip` is one budget per address across every operation that names it.
 */
export function createRateLimitPolicies(deps: {
  auth: AuthRateLimits;
  caller: (costClass: CallerCostClass) => RequestHandler;
}): (entry: OperationEntry) => RequestHandler[] {
  const { auth: limits, caller } = deps;
  const policies: Record<RateLimitPolicy, RequestHandler> = {
    'caller-read': caller('read'),
    'caller-list': caller('list'),
    'caller-write': caller('write'),
    'auth-ip': limits.perIp,
    'auth-account-register': limits.perAccount('register', (req) => (req.body as { email?: string }).email),
    'auth-account-token': limits.failuresPerAccountAndAddress('token', tokenRequestAccount),
    'auth-account-token-new-addresses': limits.failuresPerAccountFromNewAddresses(
      'token',
      tokenRequestAccount,
    ),
    'auth-account-revoke': limits.failuresPerAccountAndAddress('revoke', tokenRequestAccount),
    'auth-account-introspect': limits.failuresPerAccountAndAddress('introspect', tokenRequestAccount),
    'auth-account-password': limits.failuresPerAccountAndAddress('password', (req) => req.principal?.id),
    'token-grants-client': limits.grantsPerClient(clientCredentialsGrantClient),
  };
  return (entry) => {
    const named = entry.operation['x-rate-limits'] ?? [];
    if (!Array.isArray(named)) throw new Error(`${entry.operationId}: x-rate-limits must be a list`);
    return named.map((name: unknown) => {
      if (!RATE_LIMIT_POLICIES.includes(name as RateLimitPolicy)) {
        throw new Error(`${entry.operationId}: x-rate-limits names an unknown policy ${String(name)}`);
      }
      return policies[name as RateLimitPolicy];
    });
  };
}
