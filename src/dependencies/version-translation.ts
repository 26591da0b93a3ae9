import type { Request } from 'express';
import type { operations } from '../../generated/api';
import type { OpenApiDocument, OperationEntry } from '../internal/openapi-document';
import { createDocumentSchemas, describeSchemaError } from '../utils/document-schemas';
import type { VersionTranslator } from '../versions/translator';
import type { SentResult } from './operation-result';

/** How the binding layer keeps handlers on the latest shape while a caller speaks an older version. */
export interface VersionTranslation {
  /** Before the write guard and the handler: the caller's validated request moved up to the latest shape. */
  requestUp(req: Request, entry: OperationEntry): void;
  /** After: a success answer (a replay included) moved down to the caller's version. */
  resultDown(req: Request, entry: OperationEntry, result: SentResult): SentResult;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/;

/**
 * Requests at the latest version pass untouched. An older version's request has its version's changes
 * applied, and its answer is first checked against the latest spec (when `checkLatest`: the handler's
 * output is what the changes were written for) and then moved down; the validator mounted for the
 * caller's version checks what leaves.
 */
export function createVersionTranslation(deps: {
  latest: string;
  translator: VersionTranslator;
  /** The latest spec, to check a handler's answer before it is moved down; no check when absent. */
  latestDocument?: OpenApiDocument;
}): VersionTranslation {
  const { latest, translator } = deps;
  const schemas = deps.latestDocument ? createDocumentSchemas(deps.latestDocument) : undefined;

  const checkLatest = (entry: OperationEntry, status: number, body: unknown) => {
    if (!schemas) return;
    const validate = schemas.validatorAt([
      'paths',
      entry.path,
      entry.method,
      'responses',
      String(status),
      'content',
      'application/json',
      'schema',
    ]);
    if (!validate(body))
      throw new Error(
        `${entry.operationId} answered ${status} with a body the latest spec does not allow: ${(validate.errors ?? []).map(describeSchemaError).join('; ')}`,
      );
  };

  const down = (req: Request, entry: OperationEntry, status: number, body: unknown) => {
    checkLatest(entry, status, body);
    return translator.responseDown(req.apiVersion!, entry.operationId as keyof operations, status, body);
  };

  return {
    requestUp: (req, entry) => {
      if (req.apiVersion === undefined || req.apiVersion === latest) return;
      const request = { body: req.body as unknown, query: req.query as Record<string, unknown> };
      translator.requestUp(req.apiVersion, entry.operationId as keyof operations, request);
      req.body = request.body;
    },
    resultDown: (req, entry, result) => {
      if (req.apiVersion === undefined || req.apiVersion === latest) return result;
      if (result.status < 200 || result.status >= 300) return result;
      if ('body' in result && result.body !== undefined)
        return { ...result, body: down(req, entry, result.status, result.body) };
      // A replayed answer (Idempotency-Key) was stored as the latest version's JSON text.
      const contentType = result.headers?.['Content-Type'];
      if ('encoded' in result && result.encoded !== undefined && contentType && JSON_TYPE.test(contentType))
        return {
          ...result,
          encoded: JSON.stringify(down(req, entry, result.status, JSON.parse(result.encoded))),
        };
      return result;
    },
  };
}
