import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebhooksConfig } from '../internal/config';
import { createSecretBox, type SecretBox } from './secret-box';

/**
 * The box that seals endpoint signing secrets. Production refuses to start without WEBHOOK_SECRETS_KEY
 * (config); elsewhere an ephemeral key is made, and secrets sealed under it cannot be opened after a restart.
 */
export function loadWebhookSecretBox(config: Pick<WebhooksConfig, 'secretsKey'>, logger: Logger): SecretBox {
  if (config.secretsKey) return createSecretBox(Buffer.from(config.secretsKey, 'base64'));
  logger.warn(
    'WEBHOOK_SECRETS_KEY is not set: generated an ephemeral key; webhook endpoints registered now cannot be signed for after a restart',
  );
  return createSecretBox(randomBytes(32));
}
