/* global SwaggerUIBundle */
// The try-it console: Swagger UI over this deployment's /openapi.json. The spec names the production host
// in its OAuth 2.0 token URLs; here every request, the token request included, goes to the origin that
// served the page, so the console needs no CORS and its CSP can stay at connect-src 'self'.
async function startConsole() {
  const spec = await (await fetch('/openapi.json')).json();
  const origin = window.location.origin;
  const sameOrigin = (url) => new URL(new URL(url, origin).pathname, origin).href;
  spec.servers = [{ url: origin, description: 'This deployment' }];
  // The guide and the error reference are the reference's job; here the operations come first.
  spec.info.description =
    'Requests go to this deployment. The guide and every error are explained in the [reference](/docs).';
  for (const scheme of Object.values(spec.components.securitySchemes))
    for (const flow of Object.values(scheme.flows ?? {})) {
      if (flow.tokenUrl) flow.tokenUrl = sameOrigin(flow.tokenUrl);
      if (flow.refreshUrl) flow.refreshUrl = sameOrigin(flow.refreshUrl);
    }
  // "Try it out" fills parameters with their examples: optional filters start empty instead, so a first
  // request lists what the caller has rather than what matches the reference's sample values.
  const operations = Object.values(spec.paths).flatMap((item) => [item, ...Object.values(item)]);
  const parameters = [
    ...Object.values(spec.components.parameters ?? {}),
    ...operations.flatMap((operation) => operation.parameters ?? []),
  ];
  for (const parameter of parameters)
    if ((parameter.in === 'query' && !parameter.required) || isIdempotencyKey(parameter)) {
      delete parameter.example;
      delete parameter.examples;
    }
  SwaggerUIBundle({
    spec,
    // A fixed Idempotency-Key would make a second try with another body a 422, and a second token request
    // a replay of the first: every try that leaves the field empty gets a fresh key of its own.
    requestInterceptor: withFreshIdempotencyKey,
    dom_id: '#console',
    deepLinking: true,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    // Its default sends the spec to an online validator for a badge: nothing leaves this origin.
    validatorUrl: null,
  });
}

function isIdempotencyKey(parameter) {
  return parameter.in === 'header' && parameter.name?.toLowerCase() === 'idempotency-key';
}

function withFreshIdempotencyKey(request) {
  const headers = request.headers ?? {};
  const given = Object.keys(headers).some((name) => name.toLowerCase() === 'idempotency-key');
  if (request.method?.toUpperCase() === 'POST' && !given) headers['Idempotency-Key'] = uuidV4();
  request.headers = headers;
  return request;
}

// crypto.randomUUID exists only in secure contexts; getRandomValues everywhere (a plain-http staging host).
function uuidV4() {
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

startConsole();
