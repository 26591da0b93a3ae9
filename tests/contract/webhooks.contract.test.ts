import { loadOpenApiDocument } from '../../src/internal/openapi-document';
import { createWebhookPayloadValidator } from '../../src/webhooks/payload-validator';

// The delivery worker compiles a webhook's schema when its type is first delivered; this compiles every
// one of the bundled spec, so a schema that cannot compile fails here rather than at a delivery.
const document = loadOpenApiDocument() as { webhooks?: Record<string, unknown> };
const validate = createWebhookPayloadValidator(document);
const webhooks = Object.entries(document.webhooks ?? {}) as Array<
  [string, { post: { requestBody: { content: { 'application/json': { schema: { $ref: string } } } } } }]
>;
const schemas = (document as { components: { schemas: Record<string, { example?: unknown }> } }).components
  .schemas;

describe('every webhook of the spec', () => {
  it('when the spec is listed, then it declares the events the API sends', () => {
    expect(webhooks.map(([type]) => type)).toEqual(expect.arrayContaining(['item.created', 'webhook.test']));
  });

  it.each(webhooks)('%s compiles and accepts its own example', (type, webhook) => {
    const ref = webhook.post.requestBody.content['application/json'].schema.$ref;
    const example = schemas[ref.replace('#/components/schemas/', '')]?.example;
    expect(example).toBeDefined();
    expect(validate(type, example)).toEqual({ valid: true });
    expect(validate(type, { ...(example as object), type: 'something.else' })).toMatchObject({
      valid: false,
    });
  });
});
