import type { Request } from 'express';
import { AppError } from '../utils/errors';

/** One handler per security scheme name in the spec; express-openapi-validator calls it with the scopes the operation requires. */
export type SecurityHandler = (req: Request, scopes: string[], schema: unknown) => Promise<boolean>;
export type SecurityHandlers = Record<'bearerAuth', SecurityHandler>;

export class UnauthorizedError extends AppError {
  constructor(message = 'A valid bearer token is required.', challenge = 'Bearer') {
    super('unauthorized', message, { headers: { 'WWW-Authenticate': challenge } });
  }
}

/** Until tokens exist every secured operation is refused; the scheme names are already bound. */
export function createSecurityHandlers(): SecurityHandlers {
  return {
    bearerAuth: () => Promise.reject(new UnauthorizedError()),
  };
}
