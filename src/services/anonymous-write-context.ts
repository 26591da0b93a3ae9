import type { UnitOfWork } from '../infrastructure/unit-of-work';

/**
 * A write made before anyone is authenticated (registration, a token grant, a revocation): the request's
 * unit of work and its id, and no actor. It is not a `WriteContext` with an anonymous actor, because who
 * acts is what the request is about to establish (the new account, the user whose password matched, the
 * client whose secret did); each audit row names the actor the request proved, or `anonymous` for a
 * refusal. A `WriteContext` is one of these with the actor added.
 */
export interface AnonymousWriteContext extends UnitOfWork {
  requestId: string;
}
