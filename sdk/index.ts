/**
 * The Partner API client: openapi-fetch over the types openapi-typescript generates from the spec.
 * Every path, parameter, body and response is typed from the OpenAPI document; nothing here is written
 * per operation. `make sdk` packages this file with freshly generated types into build/sdk/.
 */
import createClient, { type Client, type ClientOptions, type Middleware } from 'openapi-fetch';
import type { components, operations, paths } from '../generated/api';

export type { components, operations, paths };
export type PartnerApiClient = Client<paths>;
export type Problem = components['schemas']['Problem'];

export interface PartnerApiClientOptions extends ClientOptions {
  /** The API's base URL, e.g. `https://api.partner-api.example`. */
  baseUrl: string;
  /** Called before every request; the token it returns is sent as `Authorization: Bearer <token>`. */
  accessToken?: () => string | undefined;
}

/** A client for every operation of the spec; see the README's "Partner tooling" section for an example. */
export function createPartnerApiClient(options: PartnerApiClientOptions): PartnerApiClient {
  const { accessToken, ...clientOptions } = options;
  const client = createClient<paths>(clientOptions);
  if (accessToken) client.use(bearerToken(accessToken));
  return client;
}

/** Middleware adding `Authorization: Bearer <token>` unless the request already carries credentials. */
export function bearerToken(accessToken: () => string | undefined): Middleware {
  return {
    onRequest({ request }) {
      const token = accessToken();
      if (token && !request.headers.has('Authorization'))
        request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
  };
}

/**
 * Request options for the `application/x-www-form-urlencoded` operations (the OAuth 2.0 token and
 * revocation endpoints): `client.POST('/v1/auth/token', { body: {...}, ...formEncoded })`.
 */
export const formEncoded = {
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  bodySerializer: (body: unknown): string => {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(body as Record<string, string | number | boolean | null>))
      if (value !== undefined && value !== null) form.set(key, String(value));
    return form.toString();
  },
} as const;

/** Request options for JSON merge patch (RFC 7386) operations such as `PATCH /v1/items/{item_id}`. */
export const mergePatch = { headers: { 'Content-Type': 'application/merge-patch+json' } } as const;
