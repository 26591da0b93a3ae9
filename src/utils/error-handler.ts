import type { ErrorRequestHandler, Request } from 'express';
import { error as OpenApiValidatorErrors } from 'express-openapi-validator';
import type { components } from '../../generated/api';
import { AppError, type FieldError } from './errors';
import { PROBLEM_TYPES, problemTypeUri, type ProblemKind } from './problem-types';

type Problem = components['schemas']['Problem'];
type ValidatorError = InstanceType<typeof OpenApiValidatorErrors.BadRequest>;

const STATUS_TO_KIND = new Map<number, ProblemKind>(
  Object.entries(PROBLEM_TYPES).map(([kind, { status }]) => [status, kind as ProblemKind]),
);

const MAX_DETAIL_LENGTH = 4096;
const MAX_FIELD_ERRORS = 100;

interface ClassifiedError {
  kind: ProblemKind;
  detail: string;
  fieldErrors?: FieldError[];
  headers?: Record<string, string>;
  /** Errors the client did not cause; logged with their stack and never described to the client. */
  unexpected: boolean;
}

/** The single error middleware: whatever went wrong, the client gets an RFC 9457 problem document. */
export function createErrorHandler(): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const classified = classify(err, req);
    const { status, title } = PROBLEM_TYPES[classified.kind];
    if (classified.unexpected || status >= 500) {
      // pino-http attaches res.err to the request's single log line, stack included.
      res.err = err instanceof Error ? err : new Error(String(err));
    }
    const problem: Problem = {
      type: problemTypeUri(classified.kind),
      title,
      status,
      detail: classified.detail.slice(0, MAX_DETAIL_LENGTH),
      instance: req.originalUrl.split('?')[0]!.slice(0, 2048),
      request_id: typeof req.id === 'string' ? req.id : '',
      ...(classified.fieldErrors?.length
        ? { errors: classified.fieldErrors.slice(0, MAX_FIELD_ERRORS) }
        : {}),
    };
    for (const [name, value] of Object.entries(classified.headers ?? {})) res.setHeader(name, value);
    res.status(status).type('application/problem+json').send(JSON.stringify(problem));
  };
}

function classify(err: unknown, req: Request): ClassifiedError {
  if (err instanceof AppError) {
    return {
      kind: err.kind,
      detail: err.message,
      unexpected: false,
      ...(err.options.fieldErrors ? { fieldErrors: err.options.fieldErrors } : {}),
      ...(err.options.headers ? { headers: err.options.headers } : {}),
    };
  }
  if (err instanceof OpenApiValidatorErrors.InternalServerError || isResponseValidationError(err)) {
    // The handler produced a response the spec does not allow: our bug, not the client's.
    return { kind: 'internal-error', detail: 'An unexpected error occurred.', unexpected: true };
  }
  if (isValidatorError(err)) return classifyValidatorError(err, req);
  if (isBodyParserError(err)) return classifyBodyParserError(err);
  return { kind: 'internal-error', detail: 'An unexpected error occurred.', unexpected: true };
}

function classifyValidatorError(err: ValidatorError, req: Request): ClassifiedError {
  const kind = STATUS_TO_KIND.get(err.status) ?? 'internal-error';
  switch (kind) {
    case 'validation-error': {
      const fieldErrors = err.errors.map(toFieldError);
      return {
        kind,
        detail: `The request has ${fieldErrors.length} invalid field${fieldErrors.length === 1 ? '' : 's'}.`,
        fieldErrors,
        unexpected: false,
      };
    }
    case 'method-not-allowed': {
      const allow = (err.headers?.Allow ?? '').toUpperCase();
      return {
        kind,
        detail: `${req.method} is not supported on ${req.path}.`,
        headers: { Allow: allow },
        unexpected: false,
      };
    }
    case 'not-found':
      return { kind, detail: `No resource at ${req.path}.`, unexpected: false };
    case 'internal-error':
      return { kind, detail: 'An unexpected error occurred.', unexpected: true };
    default:
      return { kind, detail: err.message, unexpected: false };
  }
}

function classifyBodyParserError(err: BodyParserError): ClassifiedError {
  switch (err.type) {
    case 'entity.too.large':
      return {
        kind: 'content-too-large',
        detail: `The request body exceeds ${err.limit} bytes.`,
        unexpected: false,
      };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return {
        kind: 'unsupported-media-type',
        detail: 'The request body encoding is not supported.',
        unexpected: false,
      };
    case 'entity.parse.failed':
      return {
        kind: 'validation-error',
        detail: 'The request body is not well-formed.',
        fieldErrors: [{ location: 'body', pointer: '', detail: 'is not well-formed' }],
        unexpected: false,
      };
    default:
      return { kind: 'validation-error', detail: 'The request body could not be read.', unexpected: false };
  }
}

const LOCATION_BY_SEGMENT: Record<string, FieldError['location']> = {
  body: 'body',
  query: 'query',
  path: 'path',
  params: 'path',
  headers: 'header',
  cookies: 'cookie',
};

/** Validator paths look like `/body/address/0/street` or `/query/limit`: a location, then the field. */
function toFieldError(item: { path: string; message: string }): FieldError {
  const [head = '', ...rest] = item.path.split('/').filter(Boolean);
  const location = LOCATION_BY_SEGMENT[head];
  const segments = location ? rest : [head, ...rest].filter(Boolean);
  return {
    location: location ?? 'body',
    pointer: segments
      .map((segment) => '/' + segment.replace(/~/g, '~0').replace(/\//g, '~1'))
      .join('')
      .slice(0, 1024),
    detail: item.message.slice(0, 1024),
  };
}

interface BodyParserError {
  type: string;
  status: number;
  limit?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return (
    err instanceof Error && typeof (err as Partial<BodyParserError>).type === 'string' && 'status' in err
  );
}

function isValidatorError(err: unknown): err is ValidatorError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ValidatorError>).status === 'number' &&
    Array.isArray((err as Partial<ValidatorError>).errors)
  );
}

function isResponseValidationError(err: unknown): boolean {
  return isValidatorError(err) && err.status >= 500;
}
