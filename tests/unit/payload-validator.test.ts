import { randomUUID } from 'node:crypto';
import { createWebhookPayloadValidator } from '../../src/webhooks/payload-validator';
import { WEBHOOKS_DOCUMENT } from '../support/webhook-fixtures';

const validate = createWebhookPayloadValidator(WEBHOOKS_DOCUMENT);
const envelope = (data: unknown, type = 'item.created') => ({
  id: randomUUID(),
  type,
  occurred_at: '2026-11-30T10:00:00Z',
  data,
});

describe('the webhook payload validator', () => {
  it('when a payload matches its webhook schema (refs to components included), then it is valid', () => {
    expect(validate('item.created', envelope({ id: randomUUID(), name: 'Zoë' }))).toEqual({ valid: true });
  });

  it('when a referenced component is broken, then the payload is invalid and every error is named', () => {
    const result = validate('item.created', { ...envelope({ id: 'not-a-uuid', name: 5 }), extra: true });

    expect(result.valid).toBe(false);
    expect(!result.valid && result.errors).toEqual(
      expect.arrayContaining([
        '/ must NOT have additional properties',
        '/data/id must match format "uuid"',
        '/data/name must be string',
      ]),
    );
  });

  it('when the event type has no webhook in the spec, then the payload is invalid', () => {
    expect(validate('item.deleted', envelope({ id: randomUUID(), name: 'x' }, 'item.deleted'))).toEqual({
      valid: false,
      errors: ['The spec declares no webhook item.deleted.'],
    });
  });

  it('when a webhook declares no JSON request body, then the validator refuses to start', () => {
    const document = { ...WEBHOOKS_DOCUMENT, webhooks: { 'item.created': { post: { responses: {} } } } };

    expect(() => createWebhookPayloadValidator(document)).toThrow(
      'item.created declares no application/json',
    );
  });
});
