import { createHash } from 'node:crypto';
import { finishReferencePage } from '../../scripts/docs/reference-page';
import { changelogPage, portalVersions, versionPicker } from '../../scripts/docs/versions-pages';
import { latestVersion, readVersionSteps } from '../../scripts/versions/version-steps';
import { inlineScriptHashes, referencePagePolicy } from '../../src/routers/docs-policies';

const hash = (text: string): string => `sha256-${createHash('sha256').update(text).digest('base64')}`;

/** The shape `redocly build-docs --inlineBundle` writes, reduced to what the finishing touches look at. */
const built = [
  '<html><head><title>Partner API</title></head><body>',
  '<div id="redoc"><a href="/">Partner API</a><a href="/section/errors/conflict">conflict</a>',
  '<a href="/items">Items</a><a href="/docs/try">console</a><a href="https://example.com/">out</a></div>',
  '<script type="module">const logo="https://cdn.redoc.ly/redoc/logo-mini-full.svg",',
  'mini="https://cdn.redoc.ly/redoc/logo-mini.svg";try{return e._factory??=Function(XDe),!0}catch{}',
  'const html="<a href=\\"/section/x\\"><\\/script>";</script></body></html>',
].join('');

describe('the reference page after build-docs', () => {
  const page = finishReferencePage(built, ['section', 'items']);

  it('when it is finished, then Redoc links are hash links and links to server pages stay paths', () => {
    expect(page).toContain('<a href="#/">Partner API</a>');
    expect(page).toContain('<a href="#/section/errors/conflict">');
    expect(page).toContain('<a href="#/items">');
    expect(page).toContain('<a href="/docs/try">');
    expect(page).toContain('<a href="https://example.com/">');
    // Only the prerendered markup changes, never the script.
    expect(page).toContain('<a href=\\"/section/x\\">');
  });

  it("when it is finished, then nothing points at Redocly's CDN, search needs no eval, and it has an icon", () => {
    expect(page).not.toContain('cdn.redoc.ly');
    expect(page).toContain('data:image/svg+xml,');
    expect(page).not.toMatch(/Function\(XDe\)/);
    expect(page).toContain('<link rel="icon" href="/favicon.ico" type="image/svg+xml" />');
  });

  it('when Redoc changes so a touch no longer applies, then the build fails instead of shipping it', () => {
    expect(() => finishReferencePage(built.replace('logo-mini.svg', 'logo.svg'), ['section'])).toThrow(
      /logo/,
    );
    expect(() => finishReferencePage(built.replace('Function(XDe)', 'makeWorker()'), ['section'])).toThrow(
      /search worker/,
    );
  });
});

describe('the reference page CSP', () => {
  it('when a page has inline and external scripts, then only the inline ones are hashed', () => {
    const html = '<script type="module">a()</script><script src="/x.js"></script><script>b()</script>';
    expect(inlineScriptHashes(html)).toEqual([hash('a()'), hash('b()')]);
    expect(referencePagePolicy(html)).toContain(`script-src '${hash('a()')}' '${hash('b()')}';`);
  });
});

describe('the API versions in the portal', () => {
  const steps = readVersionSteps();
  const latest = latestVersion();
  const versions = portalVersions(latest, steps);

  it('when the versions are listed, then the latest is /docs and each older one has its own page, newest first', () => {
    expect(versions.map((entry) => entry.href)).toEqual([
      '/docs',
      ...steps.map((step) => `/docs/versions/${step.version}`),
    ]);
  });

  it('when a reference page is finished with the picker, then it comes first in the body, outside Redoc, linking every version and the changelog', () => {
    const picker = versionPicker(latest, versions);
    const page = finishReferencePage(built, ['section'], picker);
    expect(page).toContain(`<body>${picker}<div id="redoc">`);
    for (const entry of versions.slice(1))
      expect(picker).toContain(`<a href="/docs/versions/${entry.version}">`);
    expect(picker).toContain('<a href="/docs/changelog">');
    expect(picker).toContain(`<strong aria-current="page">${latest} (latest)</strong>`);
  });

  it('when the changelog is built, then every version has its anchor, each step its changes, and a deprecated one its dates', () => {
    const page = changelogPage('Partner API', latest, steps);
    for (const entry of versions) expect(page).toContain(`<section id="${entry.version}">`);
    for (const step of steps) {
      expect(page).toContain(step.changelog.summary.replace(/`([^`]+)`/g, '<code>$1</code>'));
      if (step.sunset) expect(page).toContain(`From ${step.sunset} requests at this version are refused`);
    }
    expect(page).not.toMatch(/<script/i);
  });
});
