import type { RequestHandler } from 'express';
import type { OperationEntry } from '../internal/openapi-document';

/**
 * List operations whose 200 answer declares a `Link` header in the spec get an RFC 8288 `rel="next"` link
 * on every page but the last: the request's own path and query with `cursor` set to the body's
 * `next_cursor`. Generic clients (and generators' paginators) follow it without knowing this API's cursor
 * names. A URI reference relative to the request, so it is right behind any proxy or base path.
 */
export function paginationLinks(entry: OperationEntry): RequestHandler[] {
  const responses = entry.operation.responses as
    Record<string, { headers?: Record<string, unknown> }> | undefined;
  const ok = responses?.['200'];
  if (!ok?.headers || !('Link' in ok.headers)) return [];
  return [
    (req, res, next) => {
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        const nextCursor = (body as { next_cursor?: unknown } | null)?.next_cursor;
        if (res.statusCode === 200 && typeof nextCursor === 'string') {
          // Appended: a deprecated API version's answers already carry its rel="deprecation" link.
          res.append('Link', `<${nextPageUrl(req.originalUrl, nextCursor)}>; rel="next"`);
        }
        return json(body);
      };
      next();
    },
  ];
}

export function nextPageUrl(originalUrl: string, cursor: string): string {
  const url = new URL(originalUrl, 'http://relative.invalid');
  url.searchParams.set('cursor', cursor);
  return `${url.pathname}${url.search}`;
}
