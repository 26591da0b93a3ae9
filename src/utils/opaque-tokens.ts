import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Refresh tokens, client secrets and API keys: 256 random bits, stored only as SHA-256. With that much entropy a
 * fast hash is enough (no dictionary to attack), which keeps the token endpoint cheap.
 */
export function generateOpaqueToken(prefix: 'rt' | 'cs' | 'pak_live'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function matchesOpaqueHash(token: string, expectedHash: string): boolean {
  const actual = Buffer.from(hashOpaqueToken(token), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
