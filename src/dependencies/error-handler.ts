import type { ErrorRequestHandler, Request, Response } from 'express';
import { error as OpenApiValidatorErrors } from 'express-openapi-validator';
import type { components } from '../../generated/api';
import { translateDatabaseError } from '../utils/database-errors';
import type { AuthFailureReason } from '../infrastructure/metrics';
import {
  AppError,
  InsufficientScopeError,
  InvalidTokenError,
  invalidFieldsMessage,
  MissingCredentialsError,
  PreconditionRequiredError,
  type FieldError,
  type OAuthErrorCode,
} from '../utils/errors';
import { PROBLEM_TYPES, problemTypeUri, type ProblemKind } from '../utils/problem-types';
import { NOT_UNICODE } from './http-semantics';
import { requestIdOf } from './request-id';
import { MAX_LOGGED_FIELDS, PROBLEM_FIELDS_LOCAL } from './request-log';
import { currentTraceIds } from '../utils/trace-context';

type Problem = components['schemas']['Problem'];
type ValidatorError = InstanceType<typeof OpenApiValidatorErrors.BadRequest>;

// For errors that only carry a status (validator, body parser); the other kinds of a status are raised by name only.
const RAISED_BY_NAME_ONLY = new Set<string>(['oauth-error', 'unsupported-api-version']);
const STATUS_TO_KIND = new Map<number, ProblemKind>(
  Object.entries(PROBLEM_TYPES)
    .filter(([kind]) => !RAISED_BY_NAME_ONLY.has(kind))
    .map(([kind, { status }]) => [status, kind as ProblemKind]),
);

const MAX_DETAIL_LENGTH = 4096;
const MAX_FIELD_ERRORS = 100;

interface ClassifiedError {
  kind: ProblemKind;
  detail: string;
  fieldErrors?: FieldError[];
  headers?: Record<string, string>;
  oauth?: { error: OAuthErrorCode; error_description?: string };
  extensions?: Pick<Problem, 'supported_versions'>;
  /** Errors the client did not cause; logged with their stack and never described to the client. */
  unexpected: boolean;
}

/**
 * The single error middleware: whatever went wrong, the client gets an RFC 9457 problem document. Every
 * refused credential passes through here, so this is where authentication failures are counted.
 */
export function createErrorHandler(
  deps: { onAuthFailure?: (reason: AuthFailureReason) => void } = {},
): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    // The validator reports a failed security handler by status only; the handler left the real reason.
    const authFailure = res.locals.authFailure;
    const cause = isValidatorError(err) && authFailure !== undefined ? authFailure : err;
    const fromDatabase = translateDatabaseError(cause);
    const classified = classify(fromDatabase ?? cause, req);
    const { status, title } = PROBLEM_TYPES[classified.kind];
    if (classified.unexpected || status >= 500 || fromDatabase) {
      // pino-http attaches res.err to the request's single log line, stack included.
      res.err = cause instanceof Error ? cause : new Error(String(cause));
    }
    if (isOAuthEndpoint(req) && classified.kind === 'validation-error' && !classified.oauth) {
      classified.oauth = oauthErrorForInvalidRequest(classified.fieldErrors ?? []);
    }
    const problem: Problem = {
      type: problemTypeUri(classified.kind),
      title,
      status,
      detail: classified.detail.slice(0, MAX_DETAIL_LENGTH),
      instance: asUriReference(req.originalUrl.split('?')[0]!).slice(0, 2048),
      request_id: requestIdOf(req),
      ...optionalTraceId(),
      ...(classified.oauth ?? {}),
      ...(classified.extensions ?? {}),
      ...(classified.fieldErrors?.length
        ? { errors: classified.fieldErrors.slice(0, MAX_FIELD_ERRORS) }
        : {}),
    };
    res.locals.problemType = problem.type;
    // The request log keeps where a problem pointed, never what was there.
    res.locals[PROBLEM_FIELDS_LOCAL] = problem.errors
      ?.slice(0, MAX_LOGGED_FIELDS)
      .map(({ location, pointer }) => ({ location, pointer }));
    const failedCredentials = authFailureReason(cause, classified);
    if (failedCredentials) deps.onAuthFailure?.(failedCredentials);
    for (const [name, value] of Object.entries(classified.headers ?? {})) res.setHeader(name, value);
    if (status === 401 && !res.hasHeader('WWW-Authenticate')) challengeBearer(res);
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
      ...(err.options.oauth ? { oauth: err.options.oauth } : {}),
      ...(err.options.extensions ? { extensions: err.options.extensions } : {}),
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
      // The spec marks If-Match required; its absence alone is RFC 6585's 428, as the handlers answer it.
      if (fieldErrors.every(isMissingIfMatch))
        return {
          kind: 'precondition-required',
          detail: new PreconditionRequiredError().message,
          unexpected: false,
        };
      return {
        kind,
        detail: invalidFieldsMessage(fieldErrors.length),
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
    case NOT_UNICODE:
      return {
        kind: 'validation-error',
        detail: `The request body ${err.message}.`,
        fieldErrors: [{ location: 'body', pointer: '', detail: err.message }],
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
      // A Content-Encoding the body does not actually have, or a truncated or corrupt compressed stream.
      return {
        kind: 'validation-error',
        detail: 'The request body could not be read or decoded.',
        fieldErrors: [{ location: 'body', pointer: '', detail: 'could not be decoded' }],
        unexpected: false,
      };
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
function isMissingIfMatch(error: FieldError): boolean {
  return error.location === 'header' && error.pointer === '/if-match' && /required/.test(error.detail);
}

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

function optionalTraceId(): Pick<Problem, 'trace_id'> {
  const ids = currentTraceIds();
  return ids ? { trace_id: ids.trace_id } : {};
}

const OAUTH_CREDENTIAL_FAILURES = new Set<string>(['invalid_grant', 'invalid_client', 'unauthorized_client']);

function authFailureReason(cause: unknown, classified: ClassifiedError): AuthFailureReason | undefined {
  if (cause instanceof MissingCredentialsError) return 'missing_credentials';
  if (cause instanceof InvalidTokenError) return 'invalid_token';
  if (cause instanceof InsufficientScopeError) return 'insufficient_scope';
  const oauthError = classified.oauth?.error;
  return oauthError && OAUTH_CREDENTIAL_FAILURES.has(oauthError)
    ? (oauthError as AuthFailureReason)
    : undefined;
}

/** The request path as a valid URI reference, even when the client sent characters a URI cannot hold. */
function asUriReference(path: string): string {
  return path.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (c) => encodeURIComponent(c));
}

/** RFC 6750 section 3: every 401 names the scheme the client should use. */
function challengeBearer(res: Response): void {
  res.setHeader('WWW-Authenticate', 'Bearer realm="partner-api"');
}

/** Operations marked `x-oauth-endpoint` in the spec answer malformed requests with RFC 6749 error codes too. */
function isOAuthEndpoint(req: Request): boolean {
  const schema = (req as { openapi?: { schema?: Record<string, unknown> } }).openapi?.schema;
  return schema?.['x-oauth-endpoint'] === true;
}

function oauthErrorForInvalidRequest(fieldErrors: FieldError[]): NonNullable<ClassifiedError['oauth']> {
  const badGrantType = fieldErrors.some(
    (field) => field.pointer === '/grant_type' && /allowed values/.test(field.detail),
  );
  if (badGrantType) {
    return {
      error: 'unsupported_grant_type',
      error_description: 'Supported: password, refresh_token, client_credentials.',
    };
  }
  const description = fieldErrors.map((field) => `${field.pointer || 'body'} ${field.detail}`).join('; ');
  return {
    error: 'invalid_request',
    error_description: (description || 'The request is malformed.').slice(0, 1024),
  };
}

interface BodyParserError extends Error {
  type?: string;
  status: number;
  limit?: number;
}

/** body-parser's errors are http-errors: a `type` for the ones it names, `expose` and a 4xx status for all. */
function isBodyParserError(err: unknown): err is BodyParserError {
  if (!(err instanceof Error)) return false;
  const { type, status, expose } = err as Partial<BodyParserError> & { expose?: unknown };
  return (
    (typeof type === 'string' && typeof status === 'number') ||
    (expose === true && typeof status === 'number' && status >= 400 && status < 500)
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
