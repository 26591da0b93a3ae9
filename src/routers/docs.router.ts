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
>;

/**
 * The docs portal that `make docs` builds beside the reference page (scripts/docs/build-docs.ts): the
 * Redoc reference, each older API version's reference (versions/<date>/index.html), the versions'
 * changelog (changelog/index.html), the try-it console and its files, the favicon; and the problem type URIs.
 */
export function createDocsHandlers(deps: { docsHtmlPath: string }): DocsHandlers {
  const reference = resolve(deps.docsHtmlPath);
  const portal = dirname(reference);
  const consolePage = join(portal, 'try/index.html');
  const favicon = join(portal, 'favicon.svg');
  const changelogPage = join(portal, 'changelog/index.html');

  const builtAt = async (path: string): Promise<number> => {
    try {
      return (await stat(path)).mtimeMs;
    } catch {
      throw new ServiceUnavailableError('The docs portal has not been built; run `make docs`.');
    }
  };
  // Hashing a 2.6 MB page once per build, not per request; `make docs` while running rebuilds it.
  const referencePolicies = new Map<string, { builtAt: number; policy: string }>();
  const policyOf = async (page: string): Promise<string> => {
    const mtime = await builtAt(page);
    let known = referencePolicies.get(page);
    if (known?.builtAt !== mtime) {
      known = { builtAt: mtime, policy: referencePagePolicy(await readFile(page, 'utf8')) };
      referencePolicies.set(page, known);
    }
    return known.policy;
  };
  const policyOfReference = () => policyOf(reference);

  return {
    getApiDocs: async () => ({
      status: 200,
      headers: { 'Content-Security-Policy': await policyOfReference() },
      file: reference,
    }),
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
      return { status: 200, headers: { 'Content-Security-Policy': await policyOf(page) }, file: page };
    },
    getFavicon: async () => {
      await builtAt(favicon);
      return { status: 200, headers: { 'Content-Type': 'image/svg+xml' }, file: favicon };
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
