import type { operations, webhooks } from '../../generated/api';

export type JsonObject = Record<string, unknown>;

/** The parts of a request a change may move up: already validated against the caller's version. */
export interface VersionedRequest {
  body: unknown;
  query: JsonObject;
}

/**
 * One version step in code: what the version named here changed, as functions that move a request made
 * for the version before it up to this one, and move this version's responses and webhook payloads down
 * to the version before. Handlers only ever see and produce the latest shape; a caller pinned N versions
 * back has N changes applied, in order. The spec side of the same step is openapi/versions/<previous>.yaml.
 */
export interface VersionChange {
  /** The version that introduced the change, YYYY-MM-DD. */
  readonly version: string;
  /** One line for logs and docs; the changelog itself is the overlay's `x-changelog`. */
  readonly description: string;
  readonly requestUp?: { readonly [K in keyof operations]?: (request: VersionedRequest) => void };
  /** A success response's JSON body, moved down; problems are the same at every version. */
  readonly responseDown?: {
    readonly [K in keyof operations]?: (body: JsonObject, status: number) => JsonObject;
  };
  readonly webhookDown?: { readonly [K in keyof webhooks]?: (payload: JsonObject) => JsonObject };
}
