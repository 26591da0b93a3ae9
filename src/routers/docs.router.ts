import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { NotFoundError, ServiceUnavailableError } from '../utils/errors';
import { PROBLEM_TYPES } from '../utils/problem-types';
import { CHANGELOG_PAGE_POLICY, CONSOLE_PAGE_POLICY, referencePagePolicy } from './docs-policies';
import type { HandlerMap } from '../dependencies/handler-map';

type DocsHandlers = Pick<
  HandlerMap,
  | 'getApiDocs'
  | 'getApiConsole'
  | 'getApiConsoleAsset'
  | 'getApiChangelog'
  | 'getApiVersionDocs'
  | 'getFavicon'
  | 'getProblemType'
  | 'getTypeScriptSdk'
>;

/**
 * The docs portal that `make docs` builds beside the reference page (scripts/docs/build-docs.ts): the
 * Redoc reference, each older API version's reference (versions/<date>/index.html), the versions'
 * changelog (changelog/index.html), the try-it console and its files, the favicon; and the problem type URIs.
 */
export function createDocsHandlers(deps: {
  docsHtmlPath: string;
  /**
   * The reference is built once from the checked-in spec, which names a placeholder host; it is served
   * with this deployment's URL in its place (servers, token URLs, curl and SDK samples alike).
   */
  baseUrl?: { placeholder: string | undefined; deployment: string };
  /** sha256 of the served document (before it names the deployment): the SDK must be built from it. */
  specDigest?: string;
}): DocsHandlers {
  const reference = resolve(deps.docsHtmlPath);
  const portal = dirname(reference);
  const consolePage = join(portal, 'try/index.html');
  const favicon = join(portal, 'favicon.svg');
  const changelogPage = join(portal, 'changelog/index.html');
  const sdkPackage = join(portal, 'sdk/typescript.tgz');
  const sdkManifest = join(portal, 'sdk/typescript.json');

  const builtAt = async (path: string, by = 'The docs portal has not been built; run `make docs`.') => {
    try {
      return (await stat(path)).mtimeMs;
    } catch {
      throw new ServiceUnavailableError(by);
    }
  };
  const { baseUrl } = deps;
  const forDeployment = (html: string) =>
    baseUrl?.placeholder && baseUrl.placeholder !== baseUrl.deployment
      ? html.replaceAll(baseUrl.placeholder, baseUrl.deployment.replace(/\/+$/, ''))
      : html;
  // A reference page (the latest's, an older version's) rewritten for this deployment and hashed for its
  // policy once per build, not per request (2.6 MB each); `make docs` while running rebuilds them.
  const referencePages = new Map<string, { builtAt: number; html: string; policy: string }>();
  const referencePageOf = async (path: string) => {
    const mtime = await builtAt(path);
    let page = referencePages.get(path);
    if (page?.builtAt !== mtime) {
      const html = forDeployment(await readFile(path, 'utf8'));
      page = { builtAt: mtime, html, policy: referencePagePolicy(html) };
      referencePages.set(path, page);
    }
    return page;
  };
  const htmlOf = (page: { html: string; policy: string }) => ({
    status: 200 as const,
    headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': page.policy },
    encoded: page.html,
  });

  return {
    getApiDocs: async () => htmlOf(await referencePageOf(reference)),
    getApiConsole: async () => {
      await builtAt(consolePage);
      return { status: 200, headers: { 'Content-Security-Policy': CONSOLE_PAGE_POLICY }, file: consolePage };
    },
    getApiConsoleAsset: async (req) => {
      // The spec's enum has already refused any other name, so the path stays inside the portal.
      const asset = join(portal, 'try', req.params.asset);
      await builtAt(asset);
      return { status: 200, file: asset };
    },
    getApiChangelog: async () => {
      await builtAt(changelogPage);
      return {
        status: 200,
        headers: { 'Content-Security-Policy': CHANGELOG_PAGE_POLICY },
        file: changelogPage,
      };
    },
    getApiVersionDocs: async (req) => {
      // The spec's pattern allows a date only, so the path stays inside the portal.
      const page = join(portal, 'versions', req.params.version, 'index.html');
      await builtAt(reference);
      try {
        await stat(page);
      } catch {
        throw new NotFoundError(`No reference of API version ${req.params.version}: see /docs/changelog.`);
      }
      return htmlOf(await referencePageOf(page));
    },
    getFavicon: async () => {
      await builtAt(favicon);
      return { status: 200, headers: { 'Content-Type': 'image/svg+xml' }, file: favicon };
    },
    getTypeScriptSdk: async () => {
      await builtAt(sdkPackage, 'The SDK has not been built; run `make sdk`.');
      const manifest = JSON.parse(await readFile(sdkManifest, 'utf8')) as { spec_sha256?: string };
      if (deps.specDigest && manifest.spec_sha256 !== deps.specDigest)
        throw new ServiceUnavailableError(
          'The SDK was built from another version of this document; run `make sdk`.',
        );
      return {
        status: 200,
        headers: {
          'Content-Type': 'application/gzip',
          'Content-Disposition': 'attachment; filename="typescript.tgz"',
        },
        file: sdkPackage,
      };
    },
    getProblemType: (req) => {
      const { kind } = req.params;
      const { status, title } = PROBLEM_TYPES[kind];
      const explanation = `/docs#section/errors/${kind}`;
      return {
        status: 200,
        headers: { 'Content-Type': 'text/html; charset=utf-8' },
        encoded:
          `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${kind}: ${status} ${title}</title>` +
          `<meta http-equiv="refresh" content="0; url=${explanation}"></head>` +
          `<body><h1>${status} ${title}</h1><p><code>/problems/${kind}</code> is explained in the ` +
          `<a href="${explanation}">API reference</a>.</p></body></html>\n`,
      };
    },
  };
}
