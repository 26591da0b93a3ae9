import { isUtf8 } from 'node:buffer';
import type { Request, RequestHandler } from 'express';
import type { OperationEntry } from '../internal/openapi-document';
import { NotAcceptableError, ValidationError } from '../utils/errors';

// RFC 3986 section 3.4 lets these stand unencoded in a query. express-openapi-validator refuses them in a
// value unless the parameter says `allowReserved`, which would also tell generated clients to stop encoding
// `&`, `=` and `+`. Encoding them here keeps the spec honest and accepts what hand-written URLs send.
// (`,` separates array items and `[` `]` nest objects, so they keep their meaning and are left alone.)
const LITERAL_IN_QUERY = /[:@/?!$'()*;]/g;

/**
 * Before validation: refuses a query parameter without a name (`?=x`, which the query parser silently
 * drops) and percent-encodes the characters RFC 3986 allows literally in a query.
 */
export const canonicalizeQuery: RequestHandler = (req, _res, next) => {
  const start = req.url.indexOf('?');
  if (start === -1) {
    next();
    return;
  }
  const query = req.url.slice(start + 1);
  if (query.split('&').some((pair) => pair.startsWith('='))) {
    next(
      ValidationError.forFields([
        { location: 'query', pointer: '', detail: 'has a parameter without a name' },
      ]),
    );
    return;
  }
  const encoded = query.replace(LITERAL_IN_QUERY, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  if (encoded !== query) {
    const prefix = req.originalUrl.slice(0, req.originalUrl.indexOf('?'));
    req.url = `${req.url.slice(0, start)}?${encoded}`;
    req.originalUrl = `${prefix}?${encoded}`;
  }
  next();
};

// Every path this API serves is made of unreserved characters (RFC 3986: letters, digits, `-._~`), `/`
// and percent-escapes; ids are UUIDs. RFC 3986 also allows sub-delims, `:` and `@` in a path, but none of
// our resources is named with them.
const VALID_PATH = /^(?:[A-Za-z0-9\-._~/]|%[0-9A-Fa-f]{2})*$/;

/**
 * Before routing: a path holding anything else (`{`, `'`, a space...) is refused with 400 instead of being
 * matched loosely, where a client that forgot to encode a value, and so split it at a `?` or `/`, would
 * reach a different operation and get a confusing 405.
 */
export const refuseMalformedPath: RequestHandler = (req, _res, next) => {
  const end = req.url.indexOf('?');
  if (VALID_PATH.test(end === -1 ? req.url : req.url.slice(0, end))) {
    next();
    return;
  }
  next(
    ValidationError.forFields([
      {
        location: 'path',
        pointer: '',
        detail: 'holds characters no path of this API has: percent-encode them',
      },
    ]),
  );
};

/**
 * HEAD is GET without the body (RFC 9110 section 9.3.2), so it is validated as the GET it mirrors and then
 * routed to the GET handler; Node sends the headers and drops the body.
 */
export function createHeadSupport(): { validateAsGet: RequestHandler; restoreHead: RequestHandler } {
  const headRequests = new WeakSet<Request>();
  return {
    validateAsGet: (req, _res, next) => {
      if (req.method === 'HEAD') {
        headRequests.add(req);
        req.method = 'GET';
      }
      next();
    },
    restoreHead: (req, _res, next) => {
      if (headRequests.has(req)) req.method = 'HEAD';
      next();
    },
  };
}

/** What a JSON body that is not Unicode text is refused as (error-handler.ts maps it to a 400). */
export const NOT_UNICODE = 'entity.not.unicode';

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function holdsLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(
    ([key, nested]) => LONE_SURROGATE.test(key) || holdsLoneSurrogate(nested),
  );
}

/**
 * express.json's `verify`: a body that is not valid UTF-8 would be decoded with U+FFFD in place of its bad
 * bytes, and a `\ud800` escape without its pair becomes a string PostgreSQL cannot hold as text; both
 * would be stored altered with a 201. Refused instead. The escape check parses only bodies that have one.
 */
export function refuseMalformedUnicode(_req: unknown, _res: unknown, body: Buffer): void {
  const refuse = (detail: string) => Object.assign(new Error(detail), { type: NOT_UNICODE });
  if (!isUtf8(body)) throw refuse('is not valid UTF-8');
  if (body.includes('\\u') && SURROGATE_ESCAPE.test(body.toString('utf8'))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return; // Not JSON at all: the parser refuses it next, as it refuses any malformed body.
    }
    if (holdsLoneSurrogate(parsed)) throw refuse('holds an unpaired UTF-16 surrogate escape');
  }
}

/**
 * ajv coerces query strings such as `Infinity` or `1e400` to a non-finite number and then skips `minimum`
 * and `maximum` for it, so `limit=Infinity` would pass a `maximum: 100`.
 */
export const refuseNonFiniteNumbers: RequestHandler = (req, _res, next) => {
  const invalid = Object.entries(req.query as Record<string, unknown>).filter(
    ([, value]) => typeof value === 'number' && !Number.isFinite(value),
  );
  if (invalid.length === 0) {
    next();
    return;
  }
  next(
    ValidationError.forFields(
      invalid.map(([name]) => ({
        location: 'query',
        pointer: `/${name}`,
        detail: 'must be a finite number',
      })),
    ),
  );
};

/** The media types an operation's successful responses come in. */
function producedMediaTypes(entry: OperationEntry): string[] {
  const responses = (entry.operation.responses ?? {}) as Record<
    string,
    { content?: Record<string, unknown> }
  >;
  const types = Object.entries(responses)
    .filter(([status]) => status.startsWith('2'))
    .flatMap(([, response]) => Object.keys(response.content ?? {}));
  return [...new Set(types)];
}

/** 406 when `Accept` rules out every media type the operation produces (errors stay problem+json). */
export function negotiateContent(entry: OperationEntry): RequestHandler[] {
  const produces = producedMediaTypes(entry);
  if (produces.length === 0) return [];
  return [
    (req, _res, next) => {
      if (req.headers.accept === undefined || req.accepts(produces)) next();
      else next(new NotAcceptableError(produces));
    },
  ];
}
