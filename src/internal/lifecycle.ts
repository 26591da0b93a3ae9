/** Where the process is in its life, shared by the readiness probe and the HTTP server's drain. */
export interface Lifecycle {
  readonly draining: boolean;
  /** From now on readiness answers 503 and every response closes its connection. */
  beginDrain(): void;
}

export function createLifecycle(): Lifecycle {
  let draining = false;
  return {
    get draining() {
      return draining;
    },
    beginDrain() {
      draining = true;
    },
  };
}
