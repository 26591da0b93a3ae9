import type { Principal } from '../models/principal';

declare global {
  namespace Express {
    interface Request {
      /** Set by the security handlers before any secured operation's handler runs. */
      principal?: Principal;
    }
    interface Locals {
      /** The `type` of the problem document the error middleware answered with, for the access log. */
      problemType?: string;
    }
  }
}
