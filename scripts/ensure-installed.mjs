// Installs dependencies from the lockfile when node_modules is missing or older than the lockfile,
// so `make run` and `make test` work on a fresh clone with nothing but Node and npm.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

// Node 24 LTS is the target (.nvmrc); package.json's engines allow 22.12+. The Makefile already runs an older
// node's targets on Node 24 from npm; run directly (`npm run setup`), stop here with the way out.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `Node ${process.version} is older than 22.12 (package.json engines): use Node 24 (.nvmrc), or the make ` +
      'targets, which fetch it from npm (npx -y node@24) when the node on PATH is older.\n',
  );
  process.exit(1);
}

const marker = 'node_modules/.package-lock.json';
// A new or changed patch (patches/, applied by patch-package on install) also calls for a reinstall.
const inputs = ['package-lock.json', ...readdirSync('patches').map((name) => `patches/${name}`)];
const stale =
  !existsSync(marker) || inputs.some((input) => statSync(marker).mtimeMs < statSync(input).mtimeMs);
if (stale) {
  process.stdout.write('Installing dependencies from package-lock.json (npm ci)...\n');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}
