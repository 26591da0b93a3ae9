/**
 * Finishing touches on the page `redocly build-docs` writes, for things Redoc 3 has no option for.
 */

/** Redoc's footer shows Redocly's logo from their CDN; the same attribution, drawn inline. */
const REDOCLY_LOGOS: Record<string, string> = {
  'https://cdn.redoc.ly/redoc/logo-mini-full.svg': wordmark('Redocly', 64),
  'https://cdn.redoc.ly/redoc/logo-mini.svg': wordmark('R', 16),
};

function wordmark(text: string, width: number): string {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="16" viewBox="0 0 ${width} 16">` +
    `<text x="0" y="12" font-family="sans-serif" font-size="12" font-weight="bold" fill="#0044d4">${text}</text></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/**
 * Redoc's search (FlexSearch) first tries to compile its worker with `Function(source)`, which a CSP
 * without 'unsafe-eval' refuses, with a CSP violation each time; it then indexes on the main thread.
 * Going straight to the main thread keeps the page free of violations and lets the CSP drop blob: workers.
 */
function disableSearchWorker(html: string): string {
  const attempt = /\b\w+\._factory\?\?=Function\(\w+\)/g;
  const found = html.match(attempt)?.length ?? 0;
  if (found !== 1)
    throw new Error(`Expected Redoc's one search worker factory, found ${found}: check it again`);
  return html.replace(attempt, '(()=>{throw Error("no worker: the CSP refuses eval")})()');
}

/** Redoc's route for a tag: its name in lower case, runs of white space as one hyphen (`API keys` -> `api-keys`). */
export function tagRoute(name: string): string {
  return name.toLowerCase().trim().replace(/\s+/g, '-');
}

/**
 * @param routes the first path segment of each Redoc route: `section` and the tags' slugs. Links in
 * descriptions (such as `/docs/try`) point at the server and stay as they are.
 * @param header markup put first in the body, outside Redoc's root (the version picker).
 */
export function finishReferencePage(html: string, routes: string[], header = ''): string {
  let page = disableSearchWorker(html);
  for (const [remote, inline] of Object.entries(REDOCLY_LOGOS)) {
    if (!page.includes(remote)) throw new Error(`Redoc no longer references ${remote}: check the logo again`);
    page = page.split(remote).join(inline);
  }
  // The page is prerendered with path links (`/section/errors/conflict`) but runs Redoc's hash router,
  // and React keeps prerendered attributes when it hydrates: left alone, a link opened in a new tab asks
  // the server for a path it does not have. Hash links are what the hydrated page uses itself.
  const start = page.indexOf('<div id="redoc">');
  const end = page.indexOf('<script type="module">', start);
  if (start < 0 || end < 0) throw new Error('No prerendered <div id="redoc"> before the Redoc script');
  const escaped = routes.map((route) => route.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const routeLink = new RegExp(`href="/(?=(?:${escaped.join('|')})?["/#])`, 'g');
  const prerendered = page.slice(start, end).replace(routeLink, 'href="#/');
  page = page.slice(0, start) + prerendered + page.slice(end);
  if (header) {
    const body = /<body[^>]*>/.exec(page);
    if (!body) throw new Error('No <body> in the reference page to put the version picker in');
    page = page.replace(body[0], `${body[0]}${header}`);
  }
  return page.replace('</head>', '  <link rel="icon" href="/favicon.ico" type="image/svg+xml" />\n</head>');
}
