/**
 * Compile-time checks, run by `make typecheck` (tsc over tests/), not by jest: each `@ts-expect-error`
 * fails the build if the mistake below it starts to compile. They keep the promise that a handler which
 * forgets its response (and with it the idempotency record) is a compile error, not a silent double write.
 */
import type { OperationHandler } from '../../src/dependencies/handler-map';

// @ts-expect-error a handler must return its response; sending nothing does not compile
export const forgetsItsResponse: OperationHandler<'createItem'> = async () => {};

// @ts-expect-error only the statuses the operation declares: deleteItem answers 204, not 200
export const undeclaredStatus: OperationHandler<'deleteItem'> = () => ({ status: 200 });

// @ts-expect-error the body is checked against the status's schema
export const bodyOffSchema: OperationHandler<'getLiveness'> = () => ({ status: 200, body: { up: true } });

// @ts-expect-error a status without content in the spec takes no body
export const bodyWhereNoneIsDeclared: OperationHandler<'deleteItem'> = () => ({ status: 204, body: {} });

export const declared: OperationHandler<'getLiveness'> = () => ({ status: 200, body: { status: 'ok' } });
