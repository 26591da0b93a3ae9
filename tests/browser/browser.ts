import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

// The few browser globals the callbacks below use once they run in the page (the project's types are Node's).
declare const window: { __cspViolations: string[] };
declare const document: {
  addEventListener(
    type: 'securitypolicyviolation',
    listener: (event: {
      violatedDirective: string;
      blockedURI: string;
      sourceFile: string;
      lineNumber: number;
    }) => void,
  ): void;
  querySelectorAll(selectors: string): Iterable<{
    textContent: string | null;
    getBoundingClientRect(): { top: number };
  }>;
};

/** Debian's Chromium (scripts/test-browser.sh installs it); playwright-core never downloads a browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Without these, Chromium keeps reaching for update, sync and field-trial hosts, which would count as
// requests leaving the origin; the root user of CI needs --no-sandbox.
const FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/** What a page did that a reader would not want: console errors, CSP violations, other origins. */
export interface PageRecord {
  page: Page;
  context: BrowserContext;
  consoleErrors: string[];
  cspViolations: string[];
  foreignRequests: string[];
}

/** A page in a fresh context (no cache, no storage: a new browser), recording from its first request. */
export async function openRecordedPage(browser: Browser, origin: string): Promise<PageRecord> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Violations caught by the page's own code (a refused eval inside try/catch) log nothing to the console.
  await context.addInitScript(() => {
    const seen: string[] = [];
    window.__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) =>
      seen.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`),
    );
  });
  const page = await context.newPage();
  const record: PageRecord = { page, context, consoleErrors: [], cspViolations: [], foreignRequests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') record.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => record.consoleErrors.push(error.message));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (/^https?:$/.test(url.protocol) && url.origin !== origin) record.foreignRequests.push(request.url());
  });
  return record;
}

/** Reads the violations the init script collected; call before closing the page. */
export async function collectCspViolations(record: PageRecord): Promise<string[]> {
  record.cspViolations.push(...(await record.page.evaluate(() => window.__cspViolations)));
  return record.cspViolations;
}

/** Redoc's search box says "Loading..." until the page is hydrated and its search index is built. */
export async function waitForRedoc(page: Page): Promise<void> {
  await page.locator('[data-testid="search-trigger"]').filter({ hasNotText: 'Loading...' }).waitFor();
}

/** Waits until the heading with exactly this text is at the top of the viewport, where a link lands. */
export async function waitForHeadingAtTop(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    (wanted) =>
      [...document.querySelectorAll('h1, h2, h3')].some((heading) => {
        const { top } = heading.getBoundingClientRect();
        // startsWith: a deprecated operation's heading ends with a "deprecated" badge.
        return heading.textContent?.trim().startsWith(wanted) && top >= 0 && top < 250;
      }),
    text,
    // Redoc scrolls once it has laid the section out; checked on a relaxed interval, not every frame.
    { polling: 100 },
  );
}

/**
 * Runs `check` for every item, `limit` at a time (each in its own fresh page), and returns the failures
 * by item, so one broken link does not hide the others.
 */
export async function checkEach<T>(
  items: T[],
  limit: number,
  check: (item: T) => Promise<void>,
): Promise<Array<[T, string]>> {
  const failures: Array<[T, string]> = [];
  const queue = [...items];
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      try {
        await check(item);
      } catch (error) {
        failures.push([item, error instanceof Error ? error.message.split('\n')[0]! : String(error)]);
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return failures;
}
