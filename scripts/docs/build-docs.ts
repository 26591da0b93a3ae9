/**
 * `make docs`: the portal under build/docs/, everything it serves, built offline from openapi/.
 *
 *   index.html   the Redoc reference, with generated code samples (served at /docs)
 *   favicon.svg  (served at /favicon.ico)
 *   try/         the try-it console: Swagger UI from the pinned swagger-ui-dist, and its start-up script
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { withCodeSamples } from './code-samples';
import { finishReferencePage, tagRoute } from './reference-page';

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

mkdirSync(join(OUT, 'try'), { recursive: true });
const bundled = join(OUT, 'openapi.json');
redocly('bundle', 'openapi/openapi.yaml', '--output', bundled);
const spec = JSON.parse(readFileSync(bundled, 'utf8')) as { tags?: Array<{ name: string }> };
const withSamples = join(OUT, 'openapi.reference.json');
writeFileSync(withSamples, JSON.stringify(withCodeSamples(spec)));
const page = join(OUT, 'index.html');
redocly('build-docs', withSamples, '--inlineBundle', '--output', page);
// Redoc's routes: `section/...` for the description's headings, and one per tag.
const routes = ['section', ...(spec.tags ?? []).map((tag) => tagRoute(tag.name))];
writeFileSync(page, finishReferencePage(readFileSync(page, 'utf8'), routes));

copyFileSync(join(PORTAL, 'favicon.svg'), join(OUT, 'favicon.svg'));
copyFileSync(join(PORTAL, 'console.html'), join(OUT, 'try/index.html'));
copyFileSync(join(PORTAL, 'console.js'), join(OUT, 'try/console.js'));
const swaggerUi = dirname(require.resolve('swagger-ui-dist/package.json'));
for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css'])
  copyFileSync(join(swaggerUi, file), join(OUT, 'try', file));
process.stdout.write(`docs: ${OUT} (reference, console, favicon)\n`);
