/**
 * Verification results of our own access tokens, keyed by the whole token string, kept until the
 * token's `exp`. An ES256 verification costs more than everything else a read request does, and a
 * client sends the same token for its whole lifetime. Only what a full verification accepted is stored
 * (so nobody can fill the cache with forged tokens), and it holds no authorization: the session, the
 * account and the scopes are still looked up on every request, so revocation takes effect at once.
 */
export interface VerifiedTokens<Claims extends { exp?: number }> {
  /** The claims of a token verified before and not yet expired. */
  get(token: string): Claims | undefined;
  set(token: string, claims: Claims): void;
  readonly size: number;
}

export function createVerifiedTokens<Claims extends { exp?: number }>(deps: {
  maxEntries: number;
  /** Milliseconds since the epoch; jsonwebtoken reads the same clock. */
  now?: () => number;
}): VerifiedTokens<Claims> {
  const { maxEntries } = deps;
  const now = deps.now ?? (() => Date.now());
  const entries = new Map<string, Claims & { exp: number }>();
  // jsonwebtoken refuses a token once the current whole second reaches `exp`.
  const expired = (exp: number) => Math.floor(now() / 1000) >= exp;

  return {
    get(token) {
      const claims = entries.get(token);
      if (!claims) return undefined;
      if (expired(claims.exp)) {
        entries.delete(token);
        return undefined;
      }
      return claims;
    },
    set(token, claims) {
      if (typeof claims.exp !== 'number' || expired(claims.exp)) return;
      // Oldest first out: a Map iterates in insertion order, so the bound costs one deletion.
      if (entries.size >= maxEntries && !entries.has(token)) {
        entries.delete(entries.keys().next().value!);
      }
      entries.set(token, claims as Claims & { exp: number });
    },
    get size() {
      return entries.size;
    },
  };
}
