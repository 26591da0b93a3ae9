import type { Request } from 'express';
import { requirePrincipal } from './authenticator';
import type { WriteContext } from '../models/write-context';
import { requestIdOf } from '../utils/request-id';

type RequestWithPrincipal = Pick<Request, 'principal' | 'method' | 'path' | 'id'>;

/** The actor and request id every audited write records. */
export function writeContextOf<T>(req: RequestWithPrincipal): WriteContext<T> {
  return { actor: requirePrincipal(req), requestId: requestIdOf(req) };
}
