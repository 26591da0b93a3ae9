import type { OpenApiDocument } from './openapi-document';

type Flow = { tokenUrl?: string; refreshUrl?: string; authorizationUrl?: string };
type Server = { url: string; variables?: Record<string, { default?: string }> };

/**
 * The host the checked-in spec names where a deployment's own URL belongs: the default of its server's
 * `baseUrl` variable. The spec stays deployment-neutral; what a deployment serves names itself.
 */
export function placeholderBaseUrl(document: OpenApiDocument): string | undefined {
  const server = (document.servers as Server[] | undefined)?.[0];
  return server?.url === '{baseUrl}' ? server.variables?.baseUrl?.default : undefined;
}

/**
 * A copy of the document as this deployment serves it: `servers` is PUBLIC_BASE_URL, and the OAuth 2.0
 * flows' URLs are this deployment's token endpoint, so a generator or the console configured from the
 * served document calls the deployment that served it (a relative `/` left some generators with no base).
 */
export function forDeployment(document: OpenApiDocument, publicBaseUrl: string): OpenApiDocument {
  const copy = structuredClone(document);
  const base = publicBaseUrl.replace(/\/+$/, '');
  copy.servers = [{ url: base, description: 'This deployment.', 'x-internal': false }];
  const schemes = (copy.components?.securitySchemes ?? {}) as Record<
    string,
    { flows?: Record<string, Flow> }
  >;
  const here = (url: string) => {
    const { pathname, search } = new URL(url, `${base}/`);
    return `${base}${pathname}${search}`;
  };
  for (const scheme of Object.values(schemes))
    for (const flow of Object.values(scheme.flows ?? {})) {
      if (flow.tokenUrl) flow.tokenUrl = here(flow.tokenUrl);
      if (flow.refreshUrl) flow.refreshUrl = here(flow.refreshUrl);
      if (flow.authorizationUrl) flow.authorizationUrl = here(flow.authorizationUrl);
    }
  return copy;
}
