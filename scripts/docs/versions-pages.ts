/**
 * The API versions in the portal: the picker every reference page carries, and the changelog page
 * (/docs/changelog), both from the version steps in openapi/versions/ (scripts/versions/version-steps.ts).
 */
import type { VersionStep } from '../versions/version-steps';

/** A supported version as the portal shows it. */
export interface PortalVersion {
  version: string;
  /** Where its reference is served: /docs for the latest, /docs/versions/<date> for an older one. */
  href: string;
  deprecatedAt?: string;
  sunset?: string;
}

/** Every supported version, newest first: the latest, then each step's. */
export function portalVersions(latest: string, steps: readonly VersionStep[]): PortalVersion[] {
  return [
    { version: latest, href: '/docs' },
    ...steps.map((step) => ({
      version: step.version,
      href: `/docs/versions/${step.version}`,
      ...(step.deprecatedAt ? { deprecatedAt: step.deprecatedAt } : {}),
      ...(step.sunset ? { sunset: step.sunset } : {}),
    })),
  ];
}

const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** `code` spans and nothing else of Markdown: the changelog's entries are one-line sentences. */
const inline = (markdown: string): string =>
  escapeHtml(markdown).replace(/`([^`]+)`/g, (_match, code: string) => `<code>${code}</code>`);

function status(entry: PortalVersion, latest: boolean): string {
  if (latest) return 'latest';
  const parts = [entry.deprecatedAt ? `deprecated since ${entry.deprecatedAt}` : 'supported'];
  if (entry.sunset) parts.push(`sunset ${entry.sunset}`);
  return parts.join(', ');
}

/**
 * A version picker for the top of a reference page: a `<details>` menu (no script, so the page's CSP is
 * unchanged) linking every version's reference and the changelog. Placed outside Redoc's root element,
 * which React hydrates.
 */
export function versionPicker(current: string, versions: readonly PortalVersion[]): string {
  const items = versions.map((entry, i) => {
    const label = `${entry.version} (${status(entry, i === 0)})`;
    return entry.version === current
      ? `<li><strong aria-current="page">${escapeHtml(label)}</strong></li>`
      : `<li><a href="${entry.href}">${escapeHtml(label)}</a></li>`;
  });
  return [
    '<nav id="api-version-picker" aria-label="API version" style="position:fixed;top:8px;right:16px;z-index:1000;',
    'background:#fff;border:1px solid #ccc;border-radius:4px;padding:4px 10px;font:14px sans-serif">',
    `<details><summary>API version <strong>${escapeHtml(current)}</strong></summary>`,
    `<ul style="list-style:none;margin:6px 0 0;padding:0;line-height:1.8">${items.join('')}`,
    '<li><a href="/docs/changelog">Changelog</a></li></ul></details></nav>',
  ].join('');
}

/** A Markdown note for the top of an older version's reference (its `info.description`). */
export function olderVersionNote(entry: PortalVersion, latest: string): string {
  const lines = [
    `> **This is the reference of API version ${entry.version}**, ${status(entry, false)}. The latest is ` +
      `[${latest}](/docs); what changed since is in the [changelog](/docs/changelog#${entry.version}).`,
    '> Send `Api-Version: ' + entry.version + '` to be answered at this version.',
  ];
  if (entry.sunset) lines.push(`> From ${entry.sunset}, requests at this version are refused.`);
  return `${lines.join('\n')}\n\n`;
}

/**
 * The changelog page: one section per supported version, newest first, anchored by its date. A version's
 * section lists what it changed (the x-changelog of the step that turns it back into the version below)
 * and, for an older version, its deprecation and sunset and a link to the section of the version after it.
 */
export function changelogPage(title: string, latest: string, steps: readonly VersionStep[]): string {
  const versions = portalVersions(latest, steps);
  const sections = versions.map((entry, i) => {
    // The step below this version says what this version changed; the oldest has no step below it.
    const below = steps[i];
    const newer = versions[i - 1];
    const body: string[] = [
      `<section id="${entry.version}">`,
      `<h2><a href="#${entry.version}">${entry.version}</a> <small>(${escapeHtml(status(entry, i === 0))})</small></h2>`,
    ];
    if (entry.deprecatedAt || entry.sunset)
      body.push(
        `<p class="notice">${entry.deprecatedAt ? `Deprecated since ${entry.deprecatedAt}: responses at this version carry <code>Deprecation</code> and <code>Sunset</code> headers. ` : ''}` +
          `${entry.sunset ? `From ${entry.sunset} requests at this version are refused; move to a newer version before then.` : ''}</p>`,
      );
    if (below)
      body.push(
        `<p>${inline(below.changelog.summary)}</p>`,
        `<ul>${below.changelog.changes.map((change) => `<li>${inline(change)}</li>`).join('')}</ul>`,
      );
    else body.push('<p>The first dated version: the API as it was on that day.</p>');
    if (newer) body.push(`<p>Upgrading: see <a href="#${newer.version}">${newer.version}</a>.</p>`);
    body.push(
      `<p>Reference: <a href="${entry.href}">${entry.href}</a> · spec: ` +
        `<a href="/openapi.json?version=${entry.version}">/openapi.json?version=${entry.version}</a></p>`,
      '</section>',
    );
    return body.join('\n');
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}: API versions and changelog</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<style>
body { font: 16px/1.5 sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h2 small { font-weight: normal; color: #666; }
section { border-top: 1px solid #ddd; padding-top: 0.5rem; }
section:target { background: #fffbe6; }
.notice { background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.5rem 0.75rem; }
code { background: #f3f3f3; padding: 0 0.2em; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}: API versions and changelog</h1>
<p>Versions are dates. Send <code>Api-Version: &lt;date&gt;</code> with a request to be answered at that
version; without it your account's pinned version applies, else the latest. Every response names its version
in <code>Api-Version</code>. A version changes only additively; anything that would break a caller comes in a
new version. The latest reference is at <a href="/docs">/docs</a>.</p>
${sections.join('\n')}
</body>
</html>
`;
}
