import { createCipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

// Idempotency records stop keeping the raw Idempotency-Key and the response in clear: the key becomes its
// SHA-256, the request fingerprint a MAC under the key, and the response's headers and body AES-256-GCM
// under a key derived from the Idempotency-Key (src/repositories/idempotency-sealing.ts). Existing rows
// still hold their raw key, so they are converted in place, in JavaScript (PGlite has no pgcrypto), and
// a retry in flight across the deploy is still replayed.
//
// The sealing below is format v1 of src/repositories/idempotency-sealing.ts, copied rather than imported:
// a migration must do forever what it did when it was written, whatever the repository's format becomes.

const hashIdempotencyKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

const deriveKey = (principalId: string, key: string, salt: Buffer, purpose: 'request' | 'response'): Buffer =>
  Buffer.from(
    hkdfSync('sha256', Buffer.from(key, 'utf8'), salt, `idempotency ${purpose} v1 ${principalId}`, 32),
  );

const keyRequestHash = (principalId: string, key: string, requestHash: string): string =>
  createHmac('sha256', deriveKey(principalId, key, Buffer.alloc(0), 'request'))
    .update(requestHash, 'utf8')
    .digest('hex');

function sealResponse(
  principalId: string,
  key: string,
  response: { status: number; headers: Record<string, string>; body: string | null },
): { salt: Buffer; iv: Buffer; ciphertext: Buffer } {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(principalId, key, salt, 'response'), iv, {
    authTagLength: 16,
  });
  cipher.setAAD(Buffer.from(`status ${response.status}`, 'utf8'));
  const plaintext = JSON.stringify({ headers: response.headers, body: response.body });
  const encrypted = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { salt, iv, ciphertext: Buffer.concat([encrypted, cipher.getAuthTag()]) };
}

interface OldRow {
  principal_id: string;
  key: string;
  request_hash: string;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
}

/** Rows read per round trip (each is then updated on its own): the table holds at most a day of records. */
const BATCH = 500;

/** The completed response of an old row, sealed with the key it was stored under; nothing for an unfinished one. */
function sealedColumns(row: OldRow) {
  if (row.response_status === null) return {};
  const { salt, iv, ciphertext } = sealResponse(row.principal_id, row.key, {
    status: row.response_status,
    headers: row.response_headers ?? {},
    body: row.response_body,
  });
  return { response_salt: salt, response_iv: iv, response_ciphertext: ciphertext };
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (table) => {
    table.text('key_hash');
    table.binary('response_salt');
    table.binary('response_iv');
    table.binary('response_ciphertext');
  });
  // Expired records would only be deleted by the next use of their key: not worth converting.
  await knex('idempotency_keys').where('expires_at', '<=', knex.fn.now()).del();
  let after: [string, string] | undefined;
  for (;;) {
    const rows = (await knex('idempotency_keys')
      .select('principal_id', 'key', 'request_hash', 'response_status', 'response_headers', 'response_body')
      .modify((query) => {
        if (after) query.whereRaw('(principal_id, key) > (?, ?)', after);
      })
      .orderBy([{ column: 'principal_id' }, { column: 'key' }])
      .limit(BATCH)) as OldRow[];
    for (const row of rows) {
      await knex('idempotency_keys')
        .where({ principal_id: row.principal_id, key: row.key })
        .update({
          key_hash: hashIdempotencyKey(row.key),
          request_hash: keyRequestHash(row.principal_id, row.key, row.request_hash),
          ...sealedColumns(row),
        });
    }
    if (rows.length < BATCH) break;
    const last = rows[rows.length - 1]!;
    after = [last.principal_id, last.key];
  }
  await knex.schema.alterTable('idempotency_keys', (table) => {
    table.dropPrimary();
    table.dropColumn('key');
    table.dropColumn('response_headers');
    table.dropColumn('response_body');
    table.dropNullable('key_hash');
    table.primary(['principal_id', 'key_hash']);
  });
  await knex.raw(
    "ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_key_hash_check CHECK (key_hash ~ '^[0-9a-f]{64}$')",
  );
  // A completed record always has all three; an unfinished one none of them.
  await knex.raw(
    `ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_sealed_response_check CHECK (
       (response_status IS NULL AND response_salt IS NULL AND response_iv IS NULL AND response_ciphertext IS NULL)
       OR (response_status IS NOT NULL AND response_salt IS NOT NULL AND response_iv IS NOT NULL
           AND response_ciphertext IS NOT NULL))`,
  );
}

/**
 * A hash cannot give the raw key back, and without it no stored response can be decrypted: going down
 * discards every record (retries in flight then run as new requests), and the old shape is restored.
 */
export async function down(knex: Knex): Promise<void> {
  await knex('idempotency_keys').del();
  await knex.raw('ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_sealed_response_check');
  await knex.raw('ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_key_hash_check');
  await knex.schema.alterTable('idempotency_keys', (table) => {
    table.dropPrimary();
    table.dropColumn('key_hash');
    table.dropColumn('response_salt');
    table.dropColumn('response_iv');
    table.dropColumn('response_ciphertext');
    table.text('key').notNullable();
    table.jsonb('response_headers');
    table.text('response_body');
    table.primary(['principal_id', 'key']);
  });
}
