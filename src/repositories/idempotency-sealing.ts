import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

/** A response's headers and body as stored: AES-256-GCM under a key only the caller's Idempotency-Key yields. */
export interface SealedResponse {
  /** HKDF salt, random per record: no two records share an encryption key, even for one caller and key. */
  salt: Buffer;
  iv: Buffer;
  /** The ciphertext followed by the 16-byte GCM tag. */
  ciphertext: Buffer;
}

const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The Idempotency-Key is the secret that unlocks a stored response (a new client's secret, tokens), so the
 * table keeps only its SHA-256: a database reader can find a record by a key it already holds, never the
 * key itself. A fast hash is enough only because clients are told to send high-entropy keys (UUID v4).
 */
export function hashIdempotencyKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Every derived key is bound to the caller, so one principal's key cannot open another's record. */
function deriveKey(principalId: string, key: string, salt: Buffer, purpose: 'request' | 'response'): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(key, 'utf8'), salt, `idempotency ${purpose} v1 ${principalId}`, 32),
  );
}

/**
 * The request fingerprint is a fast SHA-256 over the request body, and some bodies hold a password
 * (changing one declares Idempotency-Key): stored as is, it would let a database reader test password
 * guesses offline. Keyed with a MAC under the Idempotency-Key it stays comparable (deterministic: no salt)
 * for the caller who holds the key and useless to anyone else.
 */
export function keyRequestHash(principalId: string, key: string, requestHash: string): string {
  return createHmac('sha256', deriveKey(principalId, key, Buffer.alloc(0), 'request'))
    .update(requestHash, 'utf8')
    .digest('hex');
}

/** The status stays in clear (it says whether the record is complete) but is authenticated with the rest. */
const additionalData = (status: number) => Buffer.from(`status ${status}`, 'utf8');

export function sealResponse(principalId: string, key: string, response: StoredResponse): SealedResponse {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(principalId, key, salt, 'response'), iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(additionalData(response.status));
  const plaintext = JSON.stringify({ headers: response.headers, body: response.body });
  const encrypted = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { salt, iv, ciphertext: Buffer.concat([encrypted, cipher.getAuthTag()]) };
}

/**
 * Decrypts what `sealResponse` stored. Throws when the key, the caller or the status is not the one the
 * record was sealed with, or the stored bytes were altered: GCM's tag refuses them all alike.
 */
export function openResponse(
  principalId: string,
  key: string,
  status: number,
  /** As read back: bytea is a Buffer from pg, a Uint8Array from PGlite. */
  sealed: { [Field in keyof SealedResponse]: Uint8Array },
): StoredResponse {
  const ciphertext = Buffer.from(sealed.ciphertext);
  const decipher = createDecipheriv(
    'aes-256-gcm',
    deriveKey(principalId, key, Buffer.from(sealed.salt), 'response'),
    Buffer.from(sealed.iv),
    { authTagLength: TAG_BYTES },
  );
  decipher.setAAD(additionalData(status));
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
  const plaintext = Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
  const { headers, body } = JSON.parse(plaintext) as Pick<StoredResponse, 'headers' | 'body'>;
  return { status, headers, body };
}
