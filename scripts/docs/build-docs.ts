/**
 * `make docs`: the portal under build/docs/, everything it serves, built offline from openapi/.
 *
 *   index.html   the Redoc reference of the latest API version, with generated code samples (served at /docs)
 *   versions/<date>/index.html   the reference of each older version, from its bundle (/docs/versions/<date>)
 *   changelog/index.html   every version's changes, deprecation and sunset (/docs/changelog)
 *   favicon.svg  (served at /favicon.ico)
 *   try/         the try-it console: Swagger UI from the pinned swagger-ui-dist, and its start-up script
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { latestVersion, readVersionSteps } from '../versions/version-steps';
import { withCodeSamples } from './code-samples';
import { finishReferencePage, tagRoute } from './reference-page';
import { changelogPage, olderVersionNote, portalVersions, versionPicker } from './versions-pages';

const ROOT = resolve(__dirname, '../..');
const OUT = join(ROOT, 'build/docs');
const PORTAL = join(ROOT, 'docs/portal');

function redocly(...args: string[]): void {
  execFileSync(join(ROOT, 'node_modules/.bin/redocly'), args, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, REDOCLY_TELEMETRY: 'off' },
  });
}

type Spec = { info: { title: string; description?: string }; tags?: Array<{ name: string }> };

/** The reference page of one version's bundle, at `page`, with the version picker on top. */
function referencePage(spec: Spec, page: string, picker: string, apiVersion?: string): void {
  mkdirSync(dirname(page), { recursive: true });
  const withSamples = join(dirname(page), 'openapi.reference.json');
  writeFileSync(withSamples, JSON.stringify(withCodeSamples(spec, apiVersion)));
  redocly('build-docs', withSamples, '--inlineBundle', '--output', page);
  // Redoc's routes: `section/...` for the description's headings, and one per tag.
  const routes = ['section', ...(spec.tags ?? []).map((tag) => tagRoute(tag.name))];
  writeFileSync(page, finishReferencePage(readFileSync(page, 'utf8'), routes, picker));
}

rmSync(join(OUT, 'versions'), { recursive: true, force: true });
mkdirSync(join(OUT, 'try'), { recursive: true });
const bundled = join(OUT, 'openapi.json');
redocly('bundle', 'openapi/openapi.yaml', '--output', bundled);
// Each older version's bundle beside it (openapi.<date>.json), as `npm run generate` makes them.
execFileSync(join(ROOT, 'node_modules/.bin/tsx'), ['scripts/versions/bundle-versions.ts', OUT], {
  cwd: ROOT,
  stdio: ['ignore', 'ignore', 'inherit'],
});
const latest = latestVersion(ROOT);
const steps = readVersionSteps(ROOT);
const versions = portalVersions(latest, steps);
const spec = JSON.parse(readFileSync(bundled, 'utf8')) as Spec;
referencePage(spec, join(OUT, 'index.html'), versionPicker(latest, versions));
for (const entry of versions.slice(1)) {
  const older = JSON.parse(readFileSync(join(OUT, `openapi.${entry.version}.json`), 'utf8')) as Spec;
  older.info.title = `${older.info.title} ${entry.version}`;
  older.info.description = olderVersionNote(entry, latest) + (older.info.description ?? '');
  referencePage(
    older,
    join(OUT, 'versions', entry.version, 'index.html'),
    versionPicker(entry.version, versions),
    entry.version,
  );
}
mkdirSync(join(OUT, 'changelog'), { recursive: true });
writeFileSync(join(OUT, 'changelog/index.html'), changelogPage(spec.info.title, latest, steps));

copyFileSync(join(PORTAL, 'favicon.svg'), join(OUT, 'favicon.svg'));
copyFileSync(join(PORTAL, 'console.html'), join(OUT, 'try/index.html'));
copyFileSync(join(PORTAL, 'console.js'), join(OUT, 'try/console.js'));
const swaggerUi = dirname(require.resolve('swagger-ui-dist/package.json'));
for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css'])
  copyFileSync(join(swaggerUi, file), join(OUT, 'try', file));
process.stdout.write(
  `docs: ${OUT} (reference of ${versions.map((entry) => entry.version).join(', ')}, changelog, console, favicon)\n`,
);
