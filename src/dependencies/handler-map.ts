import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { operations, webhooks } from '../../generated/api';
import { requirePrincipal } from './authenticator';
import type { OperationQuery } from '../models/operation-query';
import type {
  AnonymousWriteContext,
  OwnedUnitOfWork,
  UnitOfWork,
  WriteContext,
} from '../infrastructure/unit-of-work';
import { requestIdOf } from './request-id';
import {
  listOperations,
  toExpressPath,
  type OpenApiDocument,
  type OperationEntry,
} from '../internal/openapi-document';
import { sendResult, type ResponseHeaders, type SentResult } from './operation-result';
import type { VersionTranslation } from './version-translation';

type WebhookOperation = webhooks[keyof webhooks]['post'];

/** The operations served at a path: the spec's `webhooks` are requests this API sends, not serves. */
export type OperationId = {
  [K in keyof operations]: operations[K] extends WebhookOperation ? never : K;
}[keyof operations];

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
type Responses<K extends OperationId> = Operation<K>['responses'];
type SuccessStatusOf<K extends OperationId> = Extract<keyof Responses<K>, SuccessStatus>;
type BodyOf<K extends OperationId, S extends keyof Responses<K>> = ContentOf<Responses<K>[S]>;

/**
 * What a handler of operation K answers: one of its success statuses with the body that status's schema
 * describes (none where the spec declares none); see `SentResult` for `encoded` and `file`.
 */
export type OperationResult<K extends OperationId> = {
  [S in SuccessStatusOf<K>]: [BodyOf<K, S>] extends [never]
    ? { status: S; headers?: ResponseHeaders; body?: never }
    : | { status: S; headers?: ResponseHeaders; body: BodyOf<K, S> }
      | { status: S; headers: ResponseHeaders & { 'Content-Type': string }; encoded: string }
      | { status: S; headers?: ResponseHeaders; file: string };
}[SuccessStatusOf<K>];

/** What the binding layer gives a handler besides its request. */
export interface OperationContext {
  /** The request's one transaction; the binding layer commits it once the handler has returned. */
  readonly unit: UnitOfWork;
  /** That transaction with the caller and the request id, for an audited write on a secured operation. */
  writeContext(): WriteContext;
  /** The same without a caller, for a write before anyone is authenticated (registration, tokens). */
  anonymousWriteContext(): AnonymousWriteContext;
}

/**
 * A handler typed from its operation in the generated spec types: it returns its response instead of
 * sending it, so the binding layer can store it (Idempotency-Key) in the write's transaction before the
 * commit; a handler cannot skip that, and one that returns nothing does not compile.
 */
export type OperationHandler<K extends OperationId> = (
  req: Request<PathParams<K>, unknown, RequestBody<K>, QueryParams<K>>,
  context: OperationContext,
) => OperationResult<K> | Promise<OperationResult<K>>;

/**
 * A convention the spec switches on per operation that wraps the handler's unit of work (Idempotency-Key).
 * Before the handler it may answer instead of it (a replay); otherwise it may hook into the unit
 * (`whenOpened`) and add work to the transaction after the handler returned, before the commit.
 */
export type WriteGuard = (req: Request, unit: OwnedUnitOfWork) => Promise<WriteGuardOutcome>;
export type WriteGuardOutcome =
  { answer: SentResult } | { beforeCommit?: (result: SentResult) => Promise<void> };

/**
 * Thrown from inside the request's transaction when the write must not go on and `result` is the answer
 * (the claim found the key completed by a concurrent request): the binding layer rolls back and sends it.
 */
export class AnswerInstead extends Error {
  constructor(readonly result: SentResult) {
    super('The request is answered without running its write.');
    this.name = 'AnswerInstead';
  }
}

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
  options: {
    createUnitOfWork: () => OwnedUnitOfWork;
    middlewareFor?: OperationMiddleware;
    guardFor?: (entry: OperationEntry) => WriteGuard | undefined;
    /** Keeps handlers on the latest shape for callers of an older API version; none when absent. */
    translation?: VersionTranslation;
  },
): OperationDispatcher {
  const { createUnitOfWork, middlewareFor = () => [], guardFor = () => undefined, translation } = options;
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
      context: OperationContext,
    ) => SentResult | Promise<SentResult>;
    const guard = guardFor(entry);
    // Nothing here listens for the client hanging up: a write that has begun runs to its commit or its
    // rollback either way, so a retry finds it committed (and replays it) or finds nothing of it.
    const run = async (req: Request, res: Response): Promise<void> => {
      translation?.requestUp(req, entry);
      const unit = createUnitOfWork();
      let result: SentResult;
      try {
        const guarded = guard ? await guard(req, unit) : {};
        if ('answer' in guarded) {
          result = guarded.answer;
        } else {
          const anonymousWriteContext = (): AnonymousWriteContext => ({
            requestId: requestIdOf(req),
            transaction: (work) => unit.transaction(work),
            afterEnd: (work) => unit.afterEnd(work),
            afterCommit: (work) => unit.afterCommit(work),
          });
          result = await handler(req, {
            unit,
            writeContext: () => ({ ...anonymousWriteContext(), actor: requirePrincipal(req) }),
            anonymousWriteContext,
          });
          await guarded.beforeCommit?.(result);
          await unit.commit();
        }
      } catch (error) {
        await unit
          .rollback()
          .catch((rollbackError: unknown) => req.log.warn({ err: rollbackError }, 'rollback failed'));
        if (!(error instanceof AnswerInstead)) throw error;
        result = error.result;
      }
      sendResult(res, translation ? translation.resultDown(req, entry, result) : result);
    };
    const route = Router();
    route[method](toExpressPath(path), ...middlewareFor(entry), run);
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
