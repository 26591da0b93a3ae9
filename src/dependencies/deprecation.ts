import type { RequestHandler } from 'express';
import type { OperationEntry } from '../internal/openapi-document';

/**
 * Operations marked `deprecated: true` in the spec announce it on every response: `Deprecation`
 * (RFC 9745) from `x-deprecated-at` and `Sunset` (RFC 8594) from `x-sunset`. No handler code involved.
 */
export function deprecationHeaders(entry: OperationEntry): RequestHandler[] {
  const { operation } = entry;
  if (operation.deprecated !== true) return [];
  const deprecatedAt = operation['x-deprecated-at'];
  const sunset = operation['x-sunset'];
  if (typeof deprecatedAt !== 'string' || typeof sunset !== 'string') {
    throw new Error(`${entry.operationId} is deprecated but lacks x-deprecated-at or x-sunset`);
  }
  const headers = {
    Deprecation: `@${Math.floor(Date.parse(deprecatedAt) / 1000)}`,
    Sunset: new Date(sunset).toUTCString(),
    Link: '</docs>; rel="deprecation"; type="text/html"',
  };
  return [
    (_req, res, next) => {
      res.set(headers);
      next();
    },
  ];
}
