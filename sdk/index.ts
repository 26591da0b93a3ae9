/**
 * The Partner API client: openapi-fetch over the types openapi-typescript generates from the spec.
 * Every path, parameter, body and response is typed from the OpenAPI document; nothing here is written
 * per operation. `make sdk` packages this file with freshly generated types into build/sdk/.
 * Webhook deliveries are verified with `verifyWebhook` (Standard Webhooks, the package the server signs with).
 * Every request names the API version the types were generated from (`Api-Version`, docs/versioning.md).
 */
import createClient, { type Client, type ClientOptions, type Middleware } from 'openapi-fetch';
import { Webhook } from 'standardwebhooks';
import type { components, operations, paths, webhooks } from '../generated/api';
import { LATEST_API_VERSION } from '../generated/api-versions';

export type { components, operations, paths, webhooks };
export type PartnerApiClient = Client<paths>;
export type Problem = components['schemas']['Problem'];

/**
 * The API version (`info.x-api-version`) of the spec this SDK's types were generated from, sent as
 * `Api-Version` on every request so that the server answers in the shapes these types describe, whatever
 * version the caller is pinned to.
 */
export const API_VERSION = LATEST_API_VERSION;

export interface PartnerApiClientOptions extends ClientOptions {
  /** The API's base URL, e.g. `https://api.partner-api.example`. */
  baseUrl: string;
  /** Called before every request; the token it returns is sent as `Authorization: Bearer <token>`. */
  accessToken?: () => string | undefined;
  /**
   * The `Api-Version` sent with every request: `API_VERSION` by default. Another date makes the server answer
   * in that version's shapes, which these types may not describe; `null` sends none (the caller's pinned
   * version then applies). A request's own `Api-Version` header wins over both.
   */
  apiVersion?: string | null;
}

/** A client for every operation of the spec; see docs/partner-tooling.md for an example. */
export function createPartnerApiClient(options: PartnerApiClientOptions): PartnerApiClient {
  const { accessToken, apiVersion = API_VERSION, ...clientOptions } = options;
  const client = createClient<paths>(clientOptions);
  if (apiVersion !== null) client.use(apiVersionHeader(apiVersion));
  if (accessToken) client.use(bearerToken(accessToken));
  return client;
}

/** Middleware adding `Api-Version: <version>` unless the request already names one. */
export function apiVersionHeader(version: string): Middleware {
  return {
    onRequest({ request }) {
      if (!request.headers.has('Api-Version')) request.headers.set('Api-Version', version);
      return request;
    },
  };
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

type JsonRequestBody<Operation> = Operation extends {
  post: { requestBody: { content: { 'application/json': infer Payload } } };
}
  ? Payload
  : never;

/**
 * Every event's payload by the name of its webhook, read from the spec's `webhooks` (the JSON body of each
 * webhook's POST): an event added to the spec is here after `make sdk`, with no change to this file.
 */
export type WebhookEvents = { [Name in keyof webhooks]: JsonRequestBody<webhooks[Name]> };
/** Any event a delivery carries; narrow it with `switch (event.type)`. */
export type WebhookEvent = WebhookEvents[keyof WebhookEvents];
/** The event of one type, e.g. `WebhookEventOf<'item.created'>`. */
export type WebhookEventOf<Type extends WebhookEvent['type']> = Extract<WebhookEvent, { type: Type }>;

/** Why a delivery was refused; `message` says it in words. */
export type WebhookVerificationFailure =
  | 'missing-headers'
  | 'invalid-timestamp'
  | 'timestamp-out-of-tolerance'
  | 'bad-signature'
  | 'invalid-payload';

/** A delivery that must not be trusted: answer it with a 4xx and do not act on its body. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(
    readonly reason: WebhookVerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from `now`, either way (replay protection); 300, as Standard Webhooks. */
  toleranceSeconds?: number;
  /** The receiver's clock; the current time when absent. */
  now?: Date;
}

/** Node's `req.headers`, a fetch `Headers`, or any record of header names (in any case) to values. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/**
 * Verifies a delivery per Standard Webhooks and returns its event: `webhook-id`, `webhook-timestamp` and
 * `webhook-signature` must be present, the timestamp within `toleranceSeconds` of `now`, and one of the
 * signatures (`v1,<base64>`, space-separated) must be the HMAC-SHA256 of `<id>.<timestamp>.<body>` under one
 * of `secrets` (`whsec_...`, as shown when the endpoint was registered or rotated). During a rotation pass the
 * new secret and the old one. `body` is the raw request body: verify before any JSON parsing, since a
 * re-serialized body no longer matches its signature. Throws `WebhookVerificationError` otherwise.
 */
export function verifyWebhook(
  secrets: string | readonly string[],
  body: string,
  headers: WebhookHeaders,
  options: VerifyWebhookOptions = {},
): WebhookEvent {
  const signers = signersFor(secrets);
  const id = headerValue(headers, 'webhook-id');
  const timestampHeader = headerValue(headers, 'webhook-timestamp');
  const signatureHeader = headerValue(headers, 'webhook-signature');
  if (!id || !timestampHeader || !signatureHeader)
    throw new WebhookVerificationError(
      'missing-headers',
      'The webhook-id, webhook-timestamp and webhook-signature headers are required.',
    );

  if (!/^\d{1,15}$/.test(timestampHeader))
    throw new WebhookVerificationError(
      'invalid-timestamp',
      'webhook-timestamp is not a number of seconds since the epoch.',
    );
  const timestamp = Number(timestampHeader);
  const toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds < 0)
    throw new RangeError('verifyWebhook: toleranceSeconds must be a non-negative number.');
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds)
    throw new WebhookVerificationError(
      'timestamp-out-of-tolerance',
      `webhook-timestamp is ${timestamp < nowSeconds ? 'older' : 'newer'} than the ${toleranceSeconds} s tolerance allows.`,
    );

  // The signature is computed by the library the server signs with, so both read secrets and build the signed
  // content alike. Its own `verify` is not used: it reads the clock itself and fixes the tolerance at 5 minutes.
  const expected = signers.map((signer) => signatureOf(signer.sign(id, new Date(timestamp * 1000), body)));
  const offered = signatureHeader
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map(signatureOf);
  if (!offered.some((signature) => expected.some((mine) => equalInConstantTime(signature, mine))))
    throw new WebhookVerificationError('bad-signature', 'No signature matches the body under these secrets.');

  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    throw new WebhookVerificationError('invalid-payload', 'The signed body is not JSON.');
  }
  if (typeof event !== 'object' || event === null || typeof (event as { type?: unknown }).type !== 'string')
    throw new WebhookVerificationError('invalid-payload', 'The signed body is not an event.');
  // The server checks each payload against the spec's `webhooks` before signing it. An event type newer than
  // this SDK arrives as well: give `switch (event.type)` a default.
  return event as WebhookEvent;
}

function signersFor(secrets: string | readonly string[]): Webhook[] {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  if (list.length === 0) throw new TypeError('verifyWebhook: at least one secret is required.');
  return list.map((secret) => {
    try {
      return new Webhook(secret);
    } catch (error) {
      throw new TypeError('verifyWebhook: a secret is not a Standard Webhooks secret (whsec_ and base64).', {
        cause: error,
      });
    }
  });
}

function signatureOf(versioned: string): string {
  return versioned.slice(versioned.indexOf(',') + 1);
}

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>))
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : value;
  return undefined;
}

/** Whether two signatures are equal, taking as long wherever they differ (their length is public). */
function equalInConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i += 1) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
