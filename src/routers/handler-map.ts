import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { operations } from '../../generated/api';
import type { OperationQuery } from '../models/operation-query';
import {
  listOperations,
  toExpressPath,
  type OpenApiDocument,
  type OperationEntry,
} from '../internal/openapi-document';

export type OperationId = keyof operations;

type Operation<K extends OperationId> = operations[K];
type OrEmpty<T> = [T] extends [never]
  ? Record<string, never>
  : [T] extends [undefined]
    ? Record<string, never>
    : T;
type ContentOf<T> = T extends { content: infer C } ? C[keyof C] : never;
type SuccessStatus = 200 | 201 | 202 | 203 | 204 | 206 | 304;

export type PathParams<K extends OperationId> = OrEmpty<NonNullable<Operation<K>['parameters']['path']>>;
export type QueryParams<K extends OperationId> = OrEmpty<OperationQuery<K>>;
export type RequestBody<K extends OperationId> =
  Operation<K> extends { requestBody: infer B }
    ? ContentOf<B>
    : Operation<K> extends { requestBody?: infer B }
      ? ContentOf<B> | undefined
      : undefined;
export type SuccessBody<K extends OperationId> = {
  [S in keyof Operation<K>['responses']]: S extends SuccessStatus
    ? ContentOf<Operation<K>['responses'][S]>
    : never;
}[keyof Operation<K>['responses']];

/** A route handler whose request and response are typed from the operation in the generated spec types. */
export type OperationHandler<K extends OperationId> = (
  req: Request<PathParams<K>, SuccessBody<K>, RequestBody<K>, QueryParams<K>>,
  res: Response<SuccessBody<K>>,
  next: NextFunction,
) => void | Promise<void>;

/** Exactly one handler per operationId: a missing or misspelt key is a compile error. */
export type HandlerMap = { [K in OperationId]: OperationHandler<K> };

/** Middleware for one operation, run after validation and security, before its handler. */
export type OperationMiddleware = (entry: OperationEntry) => RequestHandler[];

type ValidatedRequest = Request & { openapi?: { schema?: { operationId?: string } } };

/** Middleware that runs the matched operation's route; `routes` lets the routing test see what is bound. */
export type OperationDispatcher = RequestHandler & { readonly routes: ReadonlyMap<string, Router> };

/**
 * Routes every operation of the spec to its handler; refuses to start if the two disagree. The validator
 * has already matched the request to its operation, so dispatch is a lookup by operationId: a request
 * costs the same however many operations the spec has (an Express router would try them in turn).
 */
export function bindOperations(
  document: OpenApiDocument,
  handlers: HandlerMap,
  middlewareFor: OperationMiddleware = () => [],
): OperationDispatcher {
  const operations = listOperations(document);
  const specIds = new Set(operations.map((entry) => entry.operationId));
  const handlerIds = Object.keys(handlers);
  const unrouted = [...specIds].filter((id) => !handlerIds.includes(id));
  const unknown = handlerIds.filter((id) => !specIds.has(id));
  if (unrouted.length || unknown.length) {
    throw new Error(
      `Spec and handlers disagree. Without handler: [${unrouted.join(', ')}]; not in spec: [${unknown.join(', ')}]`,
    );
  }
  // One single-route router per operation keeps Express's own parameter parsing and promise handling.
  const routes = new Map<string, Router>();
  for (const entry of operations) {
    const { operationId, method, path } = entry;
    const handler = handlers[operationId as OperationId] as unknown as (
      req: Request,
      res: Response,
      next: NextFunction,
    ) => void | Promise<void>;
    const route = Router();
    route[method](toExpressPath(path), ...middlewareFor(entry), handler);
    routes.set(operationId, route);
  }
  const dispatch: RequestHandler = (req, res, next) => {
    const operationId = (req as ValidatedRequest).openapi?.schema?.operationId;
    const route = operationId === undefined ? undefined : routes.get(operationId);
    if (route) route(req, res, next);
    else next();
  };
  return Object.assign(dispatch, { routes: routes as ReadonlyMap<string, Router> });
}
