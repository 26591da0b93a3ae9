import bundled from '../../generated/openapi.json';
import {
  declaredParameters,
  listOperations,
  type OpenApiDocument,
} from '../../src/internal/openapi-document';

type Json = Record<string, unknown>;
type Content = { example?: Json; examples?: Record<string, { value: Json }> };

const document = bundled as unknown as OpenApiDocument;
const lists = listOperations(document).filter((entry) =>
  declaredParameters(document, entry).some(
    (parameter) => parameter.in === 'query' && parameter.name === 'cursor',
  ),
);

/** Prism (`make mock`) answers with an operation's `example`, or the first of its `examples`. */
function mockedBody(content: Content): Json | undefined {
  return content.example ?? Object.values(content.examples ?? {})[0]?.value;
}

describe('pagination a generic client can follow', () => {
  it('lists every cursor-paged operation', () => {
    expect(lists.map((entry) => entry.operationId).sort()).toEqual([
      'listApiKeys',
      'listAuditEvents',
      'listClients',
      'listEvents',
      'listItems',
      'listRequestLogs',
      'listUsers',
      'listWebhookDeliveries',
      'listWebhookEndpoints',
    ]);
  });

  it.each(lists.map((entry) => [entry.operationId, entry] as const))(
    '%s declares the RFC 8288 Link header on its pages, and the page `make mock` serves is the last',
    (_id, entry) => {
      const ok = (
        entry.operation.responses as Record<string, { headers: Json; content: Record<string, Content> }>
      )['200']!;
      expect(Object.keys(ok.headers)).toContain('Link');
      const body = mockedBody(Object.values(ok.content)[0]!);
      // A "fetch all" loop against the mock ends: the page it always serves has no next one.
      expect(body).toMatchObject({ next_cursor: null });
    },
  );
});
