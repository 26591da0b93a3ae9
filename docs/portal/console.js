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
    if (parameter.in === 'query' && !parameter.required) {
      delete parameter.example;
      delete parameter.examples;
    }
  SwaggerUIBundle({
    spec,
    dom_id: '#console',
    deepLinking: true,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    // Its default sends the spec to an online validator for a badge: nothing leaves this origin.
    validatorUrl: null,
  });
}

startConsole();
