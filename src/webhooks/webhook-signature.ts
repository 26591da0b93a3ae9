import { Webhook } from 'standardwebhooks';

/**
 * The `webhook-signature` header value per the Standard Webhooks spec: one `v1,<base64>` signature per
 * secret, separated by spaces. During a rotation the subscription holds the new secret and the old one
 * until the grace period ends, so a receiver that still verifies with either keeps accepting deliveries.
 */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: Date,
  body: string,
): string {
  if (secrets.length === 0) throw new Error('A webhook needs at least one signing secret.');
  return secrets.map((secret) => new Webhook(secret).sign(id, timestamp, body)).join(' ');
}
