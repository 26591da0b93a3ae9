import { verifyWebhook, type WebhookEventOf } from '../../sdk';
import { signatureHeader } from '../../src/webhooks/webhook-signature';
import { newSecret, refusalOf } from '../support/webhook-fixtures';

const sentAt = new Date('2026-11-30T10:00:00Z');
const event: WebhookEventOf<'webhook.test'> = {
  id: '2a1b0c9d-8e7f-4a6b-9c5d-4e3f2a1b0c9d',
  type: 'webhook.test',
  occurred_at: sentAt.toISOString(),
  data: { endpoint_id: '7d1f0c2a-3b4e-4f5a-9c8d-1e2f3a4b5c6d', message: 'A test event.' },
};
const body = JSON.stringify(event);

/** Headers as the server's sender writes them, signed with each of `secrets` (signatureHeader is its signer). */
function signed(secrets: string[]): Record<string, string> {
  return {
    'webhook-id': `msg_${event.id}`,
    'webhook-timestamp': String(sentAt.getTime() / 1000),
    'webhook-signature': signatureHeader(secrets, `msg_${event.id}`, sentAt, body),
  };
}

describe('verifyWebhook (the SDK)', () => {
  it('when the server signs during a rotation, then a receiver holding either secret, or both, accepts it', () => {
    const [current, previous] = [newSecret(), newSecret()];
    const headers = signed([current, previous]);

    for (const secrets of [current, previous, [previous, current]])
      expect(verifyWebhook(secrets, body, headers, { now: sentAt })).toEqual(event);
    expect(refusalOf(() => verifyWebhook(newSecret(), body, headers, { now: sentAt }))).toBe('bad-signature');
  });

  it('when the secret is given without its whsec_ prefix or the headers in another case or as arrays, then it verifies', () => {
    const secret = newSecret();
    const headers = signed([secret]);
    const shouted = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name.toUpperCase(), [value]]),
    );

    expect(verifyWebhook(secret.slice('whsec_'.length), body, headers, { now: sentAt }).type).toBe(
      'webhook.test',
    );
    expect(verifyWebhook(secret, body, shouted, { now: sentAt }).type).toBe('webhook.test');
  });

  it('when the timestamp is beyond the tolerance either way or not a number, then it is refused', () => {
    const secret = newSecret();
    const headers = signed([secret]);
    const off = (seconds: number) => new Date(sentAt.getTime() + seconds * 1000);

    expect(verifyWebhook(secret, body, headers, { now: off(300) }).type).toBe('webhook.test');
    expect(refusalOf(() => verifyWebhook(secret, body, headers, { now: off(301) }))).toBe(
      'timestamp-out-of-tolerance',
    );
    expect(refusalOf(() => verifyWebhook(secret, body, headers, { now: off(-301) }))).toBe(
      'timestamp-out-of-tolerance',
    );
    expect(
      refusalOf(() => verifyWebhook(secret, body, headers, { now: off(30), toleranceSeconds: 10 })),
    ).toBe('timestamp-out-of-tolerance');
    const garbled = { ...headers, 'webhook-timestamp': '1.7e9' };
    expect(refusalOf(() => verifyWebhook(secret, body, garbled, { now: sentAt }))).toBe('invalid-timestamp');
  });

  it('when a secret is missing or malformed, then it is a programming error, not a refused delivery', () => {
    const headers = signed([newSecret()]);

    expect(() => verifyWebhook([], body, headers)).toThrow(TypeError);
    expect(() => verifyWebhook('whsec_', body, headers)).toThrow(TypeError);
    expect(() => verifyWebhook('whsec_not base64!', body, headers)).toThrow(TypeError);
  });
});
