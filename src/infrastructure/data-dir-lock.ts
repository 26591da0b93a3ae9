import { readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';

export class DataDirInUseError extends Error {
  constructor(dataDir: string) {
    super(
      `The embedded database in ${dataDir} is open in another process (a running server or CLI). ` +
        'PGlite serves one process at a time: stop that process first, point PGLITE_DATA_DIR elsewhere, ' +
        'or set DATABASE_URL to a PostgreSQL server that several processes can share.',
    );
    this.name = 'DataDirInUseError';
  }
}

interface LockHolder {
  pid: number;
  host: string;
}

/**
 * PGlite has no postmaster to arbitrate: two processes opening one data directory each keep their own
 * view and overwrite each other's files. The lock (`<dataDir>.lock`, beside the directory, so PGlite never
 * finds a stranger inside it) is released on close and on exit. Its holder is written beside it
 * (`<dataDir>.lock-holder`), so a lock whose holder died on this host is taken over at once; otherwise
 * (another host sharing the volume, a holder we cannot see) it is taken over once its mtime, refreshed
 * every 5 s while the holder lives, is 10 s old.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const { default: lockfile } = await import('proper-lockfile');
  const holderPath = `${dataDir}.lock-holder`;
  const take = async (): Promise<() => Promise<void>> => {
    const release = await lockfile.lock(dataDir, {
      stale: 10_000,
      retries: 0,
      onCompromised: (error) => {
        process.stderr.write(`fatal: lost the lock on ${dataDir}: ${error.message}\n`);
        process.exit(1);
      },
    });
    const holder: LockHolder = { pid: process.pid, host: hostname() };
    await writeFile(holderPath, JSON.stringify(holder));
    return async () => {
      await rm(holderPath, { force: true });
      await release();
    };
  };
  const inUse = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ELOCKED';

  try {
    return await take();
  } catch (error) {
    if (!inUse(error)) throw error;
    if (!(await holderIsGone(holderPath))) throw new DataDirInUseError(dataDir);
  }
  // Aged past the stale threshold, the dead holder's lock is replaced by proper-lockfile's own takeover.
  // Were a live process to take it between our check and here, its next refresh would find the lock
  // compromised and stop it: two processes never both keep it.
  await utimes(`${dataDir}.lock`, 0, 0);
  try {
    return await take();
  } catch (error) {
    throw inUse(error) ? new DataDirInUseError(dataDir) : error;
  }
}

/** Only a holder on this host, other than this process, whose pid no longer runs, is known to be gone. */
async function holderIsGone(holderPath: string): Promise<boolean> {
  let holder: LockHolder;
  try {
    holder = JSON.parse(await readFile(holderPath, 'utf8')) as LockHolder;
  } catch {
    return false;
  }
  if (holder.host !== hostname() || holder.pid === process.pid || !Number.isInteger(holder.pid)) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
