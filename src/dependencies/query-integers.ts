import type { RequestHandler } from 'express';
import { declaredParameters, type OpenApiDocument, type OperationEntry } from '../internal/openapi-document';
import { ValidationError } from '../utils/errors';

const DECIMAL_INTEGER = /^-?[0-9]+$/;

/**
 * The validator coerces a query string to a number as JavaScript does, so `0x10`, `1e1` and ` 10` pass as
 * integers. An integer query parameter is accepted here only as plain decimal digits, read from the raw
 * query string (the validator has replaced `req.query`'s values by then).
 */
export function decimalQueryIntegers(document: OpenApiDocument, entry: OperationEntry): RequestHandler[] {
  const names = declaredParameters(document, entry)
    .filter((parameter) => parameter.in === 'query' && parameter.schema?.type === 'integer')
    .map((parameter) => parameter.name);
  if (names.length === 0) return [];
  return [
    (req, _res, next) => {
      const query = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
      const invalid = names.filter((name) =>
        query.getAll(name).some((value) => !DECIMAL_INTEGER.test(value)),
      );
      if (invalid.length === 0) return next();
      next(
        ValidationError.forFields(
          invalid.map((name) => ({
            location: 'query' as const,
            pointer: `/${name}`,
            detail: 'must be an integer in decimal digits',
          })),
        ),
      );
    },
  ];
}
