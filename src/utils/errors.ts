import type { components } from '../../generated/api';
import type { ProblemKind } from './problem-types';

export type FieldError = components['schemas']['FieldError'];
type Problem = components['schemas']['Problem'];
export type OAuthErrorCode = NonNullable<Problem['error']>;

export interface AppErrorOptions {
  fieldErrors?: FieldError[];
  headers?: Record<string, string>;
  /** RFC 6749 / RFC 6750 members added to the problem document. */
  oauth?: { error: OAuthErrorCode; error_description?: string };
  /** Members of the problem document particular to its type. */
  extensions?: Pick<Problem, 'supported_versions'>;
  cause?: unknown;
}

/**
 * Base of every error the application raises on purpose. Services throw these without knowing about
 * HTTP; the error middleware turns the kind into a status and a problem document.
 */
export class AppError extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, fieldErrors: FieldError[] = [], options: { cause?: unknown } = {}) {
    super('validation-error', message, { ...options, fieldErrors });
  }

  /** The request's invalid fields, with the message every validation problem uses. */
  static forFields(fieldErrors: FieldError[]): ValidationError {
    return new ValidationError(invalidFieldsMessage(fieldErrors.length), fieldErrors);
  }
}

export function invalidFieldsMessage(count: number): string {
  return `The request has ${count} invalid field${count === 1 ? '' : 's'}.`;
}

export class NotFoundError extends AppError {
  constructor(message = 'The resource does not exist.') {
    super('not-found', message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('conflict', message, options);
  }
}

/** How long a client should wait before retrying after a 503. */
export const SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

export class ServiceUnavailableError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('service-unavailable', message, {
      ...options,
      headers: { 'Retry-After': String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS) },
    });
  }
}

/** No bearer token at all: RFC 6750 section 3.1 says the challenge then carries no error code. */
export class MissingCredentialsError extends AppError {
  constructor() {
    super('unauthorized', 'A bearer token is required.', {
      headers: { 'WWW-Authenticate': 'Bearer realm="partner-api"' },
    });
  }
}

/** A malformed, expired or revoked bearer token (RFC 6750 `invalid_token`). */
export class InvalidTokenError extends AppError {
  constructor(
    message = 'The access token is invalid, expired or revoked.',
    options: { cause?: unknown } = {},
  ) {
    super('unauthorized', message, {
      ...options,
      headers: { 'WWW-Authenticate': `Bearer realm="partner-api", error="invalid_token"` },
      oauth: { error: 'invalid_token', error_description: message },
    });
  }
}

/** A valid token that lacks a scope the operation requires (RFC 6750 `insufficient_scope`). */
export class InsufficientScopeError extends AppError {
  constructor(required: readonly string[]) {
    const scope = required.join(' ');
    super('forbidden', `This operation requires the scope ${scope}.`, {
      headers: {
        'WWW-Authenticate': `Bearer realm="partner-api", error="insufficient_scope", scope="${scope}"`,
      },
      oauth: { error: 'insufficient_scope', error_description: `Requires ${scope}` },
    });
  }
}

/** An RFC 6749 section 5.2 error from the token or revocation endpoint. */
export class OAuthError extends AppError {
  constructor(code: Exclude<OAuthErrorCode, 'invalid_token' | 'insufficient_scope'>, description: string) {
    super(
      code === 'invalid_client' ? 'unauthorized' : 'oauth-error',
      description,
      code === 'invalid_client'
        ? {
            headers: { 'WWW-Authenticate': 'Basic realm="partner-api"' },
            oauth: { error: code, error_description: description },
          }
        : { oauth: { error: code, error_description: description } },
    );
  }
}

export class TooManyRequestsError extends AppError {
  constructor(retryAfterSeconds: number) {
    super('too-many-requests', `Too many requests; retry in ${retryAfterSeconds} seconds.`);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

export class PreconditionRequiredError extends AppError {
  constructor(message = 'Send If-Match with the ETag you last read.') {
    super('precondition-required', message);
  }
}

export class PreconditionFailedError extends AppError {
  constructor(message = 'The resource has changed since the ETag you sent; read it again.') {
    super('precondition-failed', message);
  }
}

export class UnprocessableError extends AppError {
  constructor(message: string) {
    super('unprocessable-content', message);
  }
}

export class NotAcceptableError extends AppError {
  constructor(produces: readonly string[]) {
    super('not-acceptable', `This operation produces ${produces.join(', ')}.`);
  }
}

export class UnsupportedApiVersionError extends AppError {
  constructor(requested: string, supported: readonly string[]) {
    super(
      'unsupported-api-version',
      `Api-Version ${JSON.stringify(requested.slice(0, 40))} is not one this API serves; send one of ${supported.join(', ')}, or none for your pinned version.`,
      { extensions: { supported_versions: [...supported] } },
    );
  }
}
