import { createHash } from 'node:crypto';

/**
 * Content-Security-Policy of the docs portal's pages. The rest of the API answers with
 * `default-src 'none'`; these pages run scripts, so each gets exactly what its renderer needs.
 */

const COMMON = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The Redoc page carries Redoc and the spec in one inline module script, and a colour-mode snippet in
 * another; both are allowed by their hashes rather than by 'unsafe-inline'. Redoc's styled-components insert <style> elements while it runs, which no hash
 * can name in advance: hence style-src 'unsafe-inline'. The footer logo is a data: image, and search
 * runs without a worker (both in scripts/docs/reference-page.ts).
 */
export function referencePagePolicy(html: string): string {
  const hashes = inlineScriptHashes(html).map((hash) => `'${hash}'`);
  return (
    `${COMMON}; script-src ${hashes.join(' ')}; style-src 'self' 'unsafe-inline'; ` +
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"
  );
}

/**
 * Swagger UI loads as files from this origin and sends requests (token requests included) only to it.
 * It styles elements through the DOM, which CSP does not restrict, so no 'unsafe-inline' anywhere; its
 * icons are data: images in its style sheet.
 */
export const CONSOLE_PAGE_POLICY = `${COMMON}; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'`;

/** The changelog is static HTML with one inline style sheet and no script. */
export const CHANGELOG_PAGE_POLICY = `${COMMON}; style-src 'unsafe-inline'; img-src 'self'`;

/** `sha256-...` of each inline <script> element's text, as CSP hash sources. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  // build-docs escapes `</script` inside scripts, so the first `</script>` after a tag closes it.
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    const [, attributes = '', text = ''] = match;
    if (/\bsrc\s*=/.test(attributes)) continue;
    hashes.push(`sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`);
  }
  return hashes;
}
