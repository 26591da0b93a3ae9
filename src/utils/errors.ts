import type { components } from '../../generated/api';
import type { ProblemKind } from './problem-types';

export type FieldError = components['schemas']['FieldError'];

/**
 * Base of every error the application raises on purpose. Services throw these without knowing about
 * HTTP; the error middleware turns the kind into a status and a problem document.
 */
export class AppError extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly options: { fieldErrors?: FieldError[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, fieldErrors: FieldError[] = []) {
    super('validation-error', message, { fieldErrors });
  }
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

export class ServiceUnavailableError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('service-unavailable', message, options);
  }
}
