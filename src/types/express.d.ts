import type { Principal } from '../models/principal';

declare global {
  namespace Express {
    interface Request {
      /** Set by the security handlers before any secured operation's handler runs. */
      principal?: Principal;
      /** The API version the request is served at (src/dependencies/api-version.ts); set before validation. */
      apiVersion?: string;
    }
    /** What one request's middleware tells the next, typed: no string keys between them. */
    interface Locals {
      /** The `type` of the problem document the error middleware answered with, for the access log. */
      problemType?: string;
      /**
       * Why a security handler refused the request, for the error middleware (the validator keeps only a
       * status). Cleared when another scheme of the same requirement passes.
       */
      authFailure?: unknown;
      /** The request named no `Api-Version`: the caller's pinned version applies once it is known. */
      apiVersionFromPin?: boolean;
    }
  }
}
