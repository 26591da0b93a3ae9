// Installs dependencies from the lockfile when node_modules is missing or older than the lockfile,
// so `make run` and `make test` work on a fresh clone with nothing but Node and npm.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
// A new or changed patch (patches/, applied by patch-package on install) also calls for a reinstall.
const inputs = ['package-lock.json', ...readdirSync('patches').map((name) => `patches/${name}`)];
const stale =
  !existsSync(marker) || inputs.some((input) => statSync(marker).mtimeMs < statSync(input).mtimeMs);
if (stale) {
  process.stdout.write('Installing dependencies from package-lock.json (npm ci)...\n');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}
