import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  importJWK,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import type { ClientJwks } from '../../models/client';
import type { TargetUrlDecision } from '../../webhooks/target-url-policy';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The signature algorithms a client assertion may use; HS* and `none` never (no shared secrets). */
export const CLIENT_ASSERTION_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] as const;

/** An assertion may live at most this long from now (plus the clock skew): its jti is kept that long. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const CLOCK_SKEW_SECONDS = 30;

export type AssertionRefusal = 'invalid_assertion' | 'assertion_replayed';

/** The client an assertion claims to come from, unverified: only for choosing keys and counting failures. */
export function assertedClientId(assertion: string | undefined): string | undefined {
  if (!assertion) return undefined;
  try {
    const { sub, iss } = decodeJwt(assertion);
    return typeof sub === 'string' && sub === iss ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** Problems of a JWK set a client registers, as messages; empty when every key is a usable public key. */
export async function jwksProblems(jwks: ClientJwks): Promise<string[]> {
  const problems: string[] = [];
  for (const [index, key] of jwks.keys.entries()) {
    const alg = key.alg ?? defaultAlgorithm(key);
    if (!alg) {
      problems.push(`keys/${index}: name an alg or a supported crv`);
      continue;
    }
    try {
      await importJWK(key, alg);
    } catch {
      problems.push(`keys/${index}: not a valid ${alg} public key`);
    }
  }
  return problems;
}

function defaultAlgorithm(key: ClientJwks['keys'][number]): string | undefined {
  if (key.kty === 'RSA') return 'RS256';
  if (key.kty === 'OKP') return key.crv === 'Ed25519' ? 'EdDSA' : undefined;
  return key.crv === 'P-256' ? 'ES256' : key.crv === 'P-384' ? 'ES384' : undefined;
}

export type ClientAssertionVerifier = ReturnType<typeof createClientAssertionVerifier>;

/**
 * Verifies RFC 7523 client assertions against a client's keys. Remote key sets are kept per URL (bounded),
 * so their cache and cooldown survive between requests; every fetch first runs the target URL policy
 * again, since the host may resolve elsewhere than when the URL was registered.
 */
export function createClientAssertionVerifier(deps: {
  /** Accepted as `aud`: the token endpoint URL, and the issuer identifier (RFC 7523bis). */
  audiences: string[];
  checkUrl: (url: string) => Promise<TargetUrlDecision>;
  fetchTimeoutMs?: number;
}) {
  const remoteSets = new Map<string, JWTVerifyGetKey>();
  const MAX_REMOTE_SETS = 1000;

  const guardedFetch = async (
    url: string,
    options: { headers: Headers; method: 'GET'; redirect: 'manual'; signal: AbortSignal },
  ): Promise<Response> => {
    const decision = await deps.checkUrl(url);
    if (!decision.ok) throw new Error(`jwks_uri refused: ${decision.reason}`);
    return fetch(url, options);
  };

  const remoteSet = (uri: string): JWTVerifyGetKey => {
    let set = remoteSets.get(uri);
    if (!set) {
      if (remoteSets.size >= MAX_REMOTE_SETS) remoteSets.delete(remoteSets.keys().next().value!);
      set = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: deps.fetchTimeoutMs ?? 3000,
        cooldownDuration: 30_000,
        cacheMaxAge: 600_000,
        [customFetch]: guardedFetch,
      });
      remoteSets.set(uri, set);
    }
    return set;
  };

  return {
    /**
     * The assertion's `jti` and expiry when it is signed by one of the client's keys and names the client
     * as `iss` and `sub`, us as `aud`, and expires soon enough; otherwise undefined. Whether the jti was
     * used before is the caller's to check, in its transaction.
     */
    async verify(
      assertion: string,
      clientId: string,
      keys: { jwks: ClientJwks | null; jwks_uri: string | null },
    ): Promise<{ jti: string; expiresAt: Date } | undefined> {
      const getKey = keys.jwks
        ? createLocalJWKSet(keys.jwks)
        : keys.jwks_uri
          ? remoteSet(keys.jwks_uri)
          : undefined;
      if (!getKey) return undefined;
      try {
        const { payload } = await jwtVerify(assertion, getKey, {
          algorithms: [...CLIENT_ASSERTION_ALGORITHMS],
          issuer: clientId,
          subject: clientId,
          audience: deps.audiences,
          requiredClaims: ['exp', 'jti'],
          clockTolerance: CLOCK_SKEW_SECONDS,
        });
        const now = Math.floor(Date.now() / 1000);
        if (payload.exp! > now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) return undefined;
        if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256)
          return undefined;
        return { jti: payload.jti, expiresAt: new Date((payload.exp! + CLOCK_SKEW_SECONDS) * 1000) };
      } catch {
        return undefined;
      }
    },
  };
}
