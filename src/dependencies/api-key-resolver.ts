import type { Principal } from '../models/principal';
import { isScope, ROLE_SCOPES } from '../models/scopes';
import type { ApiKeysRepository } from '../repositories/api-keys.repository';
import { InvalidTokenError } from '../utils/errors';
import { hashOpaqueToken } from '../utils/opaque-tokens';

export const API_KEY_HEADER = 'X-API-Key';
const API_KEY_PATTERN = /^pak_live_[A-Za-z0-9_-]{43}$/;
/** `last_used_at` is recorded to the minute: one write per key and minute, not one per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** The principal of an API key: its owner as it is now, with the key's scopes as far as the owner still holds them. */
export type ApiKeyResolver = (key: string) => Promise<Principal>;

export function createApiKeyResolver(deps: {
  apiKeys: ApiKeysRepository;
  now?: () => number;
}): ApiKeyResolver {
  const { apiKeys } = deps;
  const now = deps.now ?? (() => Date.now());
  return async (key) => {
    // The lookup is by the secret's SHA-256, so its timing says nothing about any stored key's secret; a
    // malformed value is refused without a query.
    if (!API_KEY_PATTERN.test(key)) throw new InvalidTokenError('This is not an API key.');
    const row = await apiKeys.findPrincipal(hashOpaqueToken(key));
    if (!row) throw new InvalidTokenError('This API key is unknown, or its previous secret has expired.');
    if (row.revoked_at) throw new InvalidTokenError('This API key has been revoked.');
    if (row.expired) throw new InvalidTokenError('This API key has expired.');
    const keyScopes = row.scopes.filter(isScope);
    let principal: Principal;
    if (row.owner_user_id) {
      if (row.status !== 'active' || !row.role)
        throw new InvalidTokenError('The owner of this API key is disabled or gone.');
      const allowed = ROLE_SCOPES[row.role];
      principal = {
        kind: 'user',
        id: row.owner_user_id,
        role: row.role,
        sessionId: undefined,
        scopes: new Set(keyScopes.filter((scope) => allowed.includes(scope))),
        apiKeyId: row.id,
        ...(row.api_version ? { apiVersion: row.api_version } : {}),
      };
    } else {
      if (!row.owner_client_id || !row.client_scopes)
        throw new InvalidTokenError('The owner of this API key is gone.');
      const granted: readonly string[] = row.client_scopes;
      principal = {
        kind: 'client',
        id: row.owner_client_id,
        sessionId: undefined,
        scopes: new Set(keyScopes.filter((scope) => granted.includes(scope))),
        apiKeyId: row.id,
        ...(row.api_version ? { apiVersion: row.api_version } : {}),
      };
    }
    if (!row.last_used_at || now() - row.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS)
      await apiKeys.touchLastUsed(row.id);
    return principal;
  };
}
