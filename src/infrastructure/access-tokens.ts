import { randomUUID, type KeyObject } from 'node:crypto';
import jwt, { type JwtPayload } from 'jsonwebtoken';
import type { AuthConfig } from '../internal/config';
import { isUuid } from '../utils/uuid';
import type { SigningKeys } from './signing-keys';

/** RFC 9068 media type for JWT access tokens; other JWTs we might sign can never pass as one. */
const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenClaims extends JwtPayload {
  sub: string;
  /** The session (auth_sessions.id) the token was issued from. */
  sid: string;
  scope: string;
  client_id?: string;
}

/** How far ahead of our clock an issuer's may run: an `iat` later than this is refused. */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * What signature, issuer and audience checks leave open: a token must say when it expires (without `exp`
 * it would be good forever) and must not claim to be issued in the future.
 */
export function hasBoundedLifetime(claims: JwtPayload, nowSeconds = Date.now() / 1000): boolean {
  return (
    typeof claims.exp === 'number' &&
    (claims.iat === undefined ||
      (typeof claims.iat === 'number' && claims.iat <= nowSeconds + CLOCK_SKEW_SECONDS))
  );
}

/** Verified claims that are ours to act on: a bounded lifetime, a subject, a session id that can name a row. */
export function isAccessTokenClaims(claims: JwtPayload | string): claims is AccessTokenClaims {
  return (
    typeof claims !== 'string' &&
    hasBoundedLifetime(claims) &&
    typeof claims.sub === 'string' &&
    typeof claims.sid === 'string' &&
    isUuid(claims.sid)
  );
}

export interface AccessTokenCodec {
  ttlSeconds: number;
  sign(claims: { sub: string; sid: string; scope: string; clientId?: string }): string;
  /** The verification key for a token, chosen by its `kid`; throws for a foreign type or unknown key. */
  keyFor(rawJwt: string): KeyObject;
  /** Algorithm, issuer and audience are pinned: `alg: none`, HS/RS confusion and foreign tokens fail. */
  verifyOptions: { algorithms: ['ES256']; issuer: string; audience: string };
  /** Full verification, for callers outside passport (token revocation). */
  verify(rawJwt: string, options?: { ignoreExpiration?: boolean }): AccessTokenClaims;
}

export function createAccessTokenCodec(deps: {
  keys: SigningKeys;
  auth: Pick<AuthConfig, 'issuer' | 'audience' | 'accessTokenTtlSeconds'>;
}): AccessTokenCodec {
  const { keys, auth } = deps;
  const verifyOptions: AccessTokenCodec['verifyOptions'] = {
    algorithms: ['ES256'],
    issuer: auth.issuer,
    audience: auth.audience,
  };

  const keyFor = (rawJwt: string): KeyObject => {
    const decoded = jwt.decode(rawJwt, { complete: true });
    if (!decoded || typeof decoded.payload === 'string') throw new Error('not a JWT');
    if (decoded.header.typ !== ACCESS_TOKEN_TYPE) throw new Error('not an access token');
    const key = decoded.header.kid ? keys.verificationKeys.get(decoded.header.kid) : undefined;
    if (!key) throw new Error('unknown signing key');
    return key;
  };

  return {
    ttlSeconds: auth.accessTokenTtlSeconds,
    sign: ({ sub, sid, scope, clientId }) =>
      jwt.sign({ scope, sid, ...(clientId ? { client_id: clientId } : {}) }, keys.current.privateKey, {
        algorithm: 'ES256',
        keyid: keys.current.kid,
        header: { typ: ACCESS_TOKEN_TYPE, alg: 'ES256' },
        issuer: auth.issuer,
        audience: auth.audience,
        subject: sub,
        expiresIn: auth.accessTokenTtlSeconds,
        jwtid: randomUUID(),
      }),
    keyFor,
    verifyOptions,
    verify: (rawJwt, options = {}) => {
      const payload = jwt.verify(rawJwt, keyFor(rawJwt), { ...verifyOptions, ...options });
      if (!isAccessTokenClaims(payload))
        throw new Error('access token without exp, sub or sid, or issued ahead');
      return payload;
    },
  };
}
