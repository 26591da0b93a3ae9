import { availableParallelism, loadavg } from 'node:os';
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

/** The most a guard is stretched: past that the machine is unusable, and a hang must still end. */
const MAX_STRETCH = 10;

/**
 * How much slower than on idle cores work runs now: runnable tasks (the one-minute load average) per core,
 * at least 1. On this suite's two cores its own two workers make a load of about 2, so a quiet machine
 * gives 1; two other CPU-bound processes beside them, about 2.
 */
export function busyFactor(): number {
  return Math.min(MAX_STRETCH, Math.max(1, loadavg()[0]! / availableParallelism()));
}

/**
 * jest's node environment, with the guard against a hung test or hook (testTimeout, or a file's
 * jest.setTimeout) measured in the machine's time rather than the clock's: when each hook and test starts,
 * the guard is the configured one times busyFactor(). On a quiet machine it is unchanged, so a hang is
 * caught as soon as before; on a machine whose cores are shared with other work, a test that is merely
 * waiting for its turn on a core is not mistaken for a hung one. A test or hook given its own timeout
 * keeps it.
 */
export default class BusyMachineEnvironment extends TestEnvironment {
  private configuredTimeout: number | undefined;

  handleTestEvent(event: Circus.AsyncEvent | Circus.SyncEvent, state: Circus.State): void {
    // At run_start jest has applied testTimeout and any jest.setTimeout of the file.
    if (event.name === 'run_start') this.configuredTimeout = state.testTimeout;
    else if ((event.name === 'hook_start' || event.name === 'test_fn_start') && this.configuredTimeout)
      state.testTimeout = Math.round(this.configuredTimeout * busyFactor());
  }
}
