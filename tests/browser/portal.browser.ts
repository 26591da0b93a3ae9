import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Locator, Page } from 'playwright-core';
import request from 'supertest';
import { listOperations, loadOpenApiDocument } from '../../src/internal/openapi-document';
import { tagRoute } from '../../scripts/docs/reference-page';
import { PROBLEM_TYPES } from '../../src/utils/problem-types';
import { createPartnerClient, createUser } from '../support/identity';
import { createTestApp, type TestApp } from '../support/test-app';
import {
  checkEach,
  collectCspViolations,
  launchChromium,
  openRecordedPage,
  waitForHeadingAtTop,
  waitForRedoc,
  type PageRecord,
} from './browser';

declare const window: { location: { hash: string } };

/**
 * The docs portal as a reader meets it: the API on a real port (the reference and console that
 * `make docs` built), opened in Debian's Chromium. Screenshots land in build/screenshots/.
 */
const SCREENSHOTS = 'build/screenshots';
const document = loadOpenApiDocument();
const operations = listOperations(document);
const tags = (document.tags as Array<{ name: string }>).map((tag) => tag.name);
const kinds = Object.keys(PROBLEM_TYPES);
// Every supported API version, newest first; the older ones have a reference of their own.
const versions = (document.info as unknown as { 'x-api-versions': string[] })['x-api-versions'];
const olderVersions = versions.slice(1);
// Each page parses the 2.6 MB reference; a few at a time keep both cores busy without starving the API.
const PARALLEL_PAGES = 3;
// What one fresh page (a new browser context parsing that reference) may take on a busy 2-core machine,
// where up to ~25 s was seen; a test that opens many gets this for each round of PARALLEL_PAGES.
const FRESH_PAGE_MS = 30_000;
const freshPagesTimeout = (pages: number) => Math.ceil(pages / PARALLEL_PAGES) * FRESH_PAGE_MS;

describe('the docs portal in a browser', () => {
  let t: TestApp;
  let server: Server;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    t = await createTestApp();
    server = createServer(t.app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    await mkdir(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await t.close();
  });

  /** Opens a page in a fresh context, runs `use`, then checks it stayed clean: nothing else is allowed. */
  async function inFreshPage(use: (record: PageRecord) => Promise<void>): Promise<void> {
    const record = await openRecordedPage(browser, origin);
    try {
      await use(record);
      await collectCspViolations(record);
      expect({
        consoleErrors: record.consoleErrors,
        cspViolations: record.cspViolations,
        foreignRequests: record.foreignRequests,
      }).toEqual({ consoleErrors: [], cspViolations: [], foreignRequests: [] });
    } finally {
      await record.context.close();
    }
  }

  it('when /docs is opened, then every tag and operation renders at its own link, and nothing leaves the origin or errs', async () => {
    await inFreshPage(async ({ page }) => {
      await page.goto(`${origin}/docs`);
      await waitForRedoc(page);
      await page.screenshot({ path: `${SCREENSHOTS}/reference.png` });
      // Redoc's own links are hash links, so they survive being opened in a new tab; the only path
      // links are the description's links to the server's other pages.
      const hrefs = await Promise.all(
        (await page.locator('a[href]').all()).map((link) => link.getAttribute('href')),
      );
      expect(hrefs).toEqual(expect.arrayContaining(['#/section/errors/conflict', '#/items']));
      // The version picker, first in the page, links every older version's reference and the changelog;
      // the guide links the console, and the changelog again (under Versions).
      expect(hrefs.filter((href) => href?.startsWith('/'))).toEqual([
        ...olderVersions.map((version) => `/docs/versions/${version}`),
        '/docs/changelog',
        '/docs/try',
        '/docs/changelog',
      ]);
      // Redoc renders operations as they are reached; reaching each by its link renders them all.
      for (const tag of tags) {
        await page.evaluate((hash) => (window.location.hash = hash), `#/${tagRoute(tag)}`);
        await waitForHeadingAtTop(page, tag);
      }
      for (const { operationId, operation } of operations) {
        const tag = tagRoute((operation.tags as string[])[0]!);
        await page.evaluate((hash) => (window.location.hash = hash), `#/${tag}/${operationId.toLowerCase()}`);
        await waitForHeadingAtTop(page, String(operation.summary));
      }
    });
  });

  it(
    'when each problem type URI is opened in a new browser, then its explanation is at the top',
    async () => {
      const failures = await checkEach(kinds, PARALLEL_PAGES, (kind) =>
        inFreshPage(async ({ page }) => {
          await page.goto(`${origin}/problems/${kind}`);
          await page.waitForURL(`${origin}/docs#section/errors/${kind}`);
          await waitForRedoc(page);
          await waitForHeadingAtTop(page, kind);
        }),
      );
      expect(failures).toEqual([]);
    },
    freshPagesTimeout(kinds.length),
  );

  // The first test reaches every tag and operation by its link; a fresh browser is checked on a sample.
  it.each([
    ['#/items', 'Items'],
    ['#/items/updateitem', 'Change an item (JSON merge patch)'],
    ['#/section/getting-started/try-it', 'Try it'],
  ])('when /docs%s is opened in a new browser, then "%s" is at the top', async (hash, heading) => {
    await inFreshPage(async ({ page }) => {
      await page.goto(`${origin}/docs${hash}`);
      await waitForRedoc(page);
      await waitForHeadingAtTop(page, heading);
    });
  });

  it.each(olderVersions)(
    'when the reference of version %s is opened from the picker, then it renders that version, with its picker and a way back',
    async (version) => {
      await inFreshPage(async ({ page }) => {
        await page.goto(`${origin}/docs`);
        await waitForRedoc(page);
        const picker = page.locator('#api-version-picker');
        await picker.locator('summary').click();
        await picker.getByRole('link', { name: new RegExp(`^${version} `) }).click();
        await page.waitForURL(`${origin}/docs/versions/${version}`);
        await waitForRedoc(page);
        await page.screenshot({ path: `${SCREENSHOTS}/reference-${version}.png` });
        expect(await picker.locator('summary').textContent()).toBe(`API version ${version}`);
        expect(await page.locator('#redoc').textContent()).toContain(`Api-Version: ${version}`);
        await page.evaluate((hash) => (window.location.hash = hash), '#/items');
        await waitForHeadingAtTop(page, 'Items');
        await picker.locator('summary').click();
        await picker.getByRole('link', { name: /\(latest\)$/ }).click();
        await page.waitForURL(`${origin}/docs`);
        await waitForRedoc(page);
      });
    },
  );

  it.each(olderVersions)(
    "when /docs/changelog#%s is opened (a deprecated version's Link), then that version's section is the target",
    async (version) => {
      await inFreshPage(async ({ page }) => {
        await page.goto(`${origin}/docs/changelog#${version}`);
        expect(await page.locator('section:target').getAttribute('id')).toBe(version);
        await page.screenshot({ path: `${SCREENSHOTS}/changelog.png` });
        for (const listed of versions) expect(await page.locator(`section[id="${listed}"]`).count()).toBe(1);
        await page
          .locator('section:target')
          .getByRole('link', { name: `/docs/versions/${version}` })
          .click();
        await page.waitForURL(`${origin}/docs/versions/${version}`);
        await waitForRedoc(page);
      });
    },
  );

  /** Authorizes in the console with one OAuth 2.0 flow, lists items, and returns the response body shown. */
  async function listItemsInConsole(
    page: Page,
    flowName: 'password' | 'clientCredentials',
    fill: (modal: Locator) => Promise<void>,
    scopes: string[] = ['items:read'],
  ): Promise<string> {
    const tokenRequests: string[] = [];
    page.on('request', (sent) => {
      if (sent.url().endsWith('/v1/auth/token')) tokenRequests.push(sent.url());
    });
    await page.goto(`${origin}/docs/try`);
    await page.locator('.opblock').first().waitFor();
    await page.locator('button.authorize').first().click();
    const modal = page.locator('.modal-ux');
    await fill(modal);
    for (const scope of scopes)
      await modal.locator(`label[for="${scope}-${flowName}-checkbox-oauth2"]`).click();
    const flow = modal.locator('.auth-container', { hasText: `OAuth2, ${flowName}` });
    await flow.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click();
    await modal.locator('button', { hasText: 'Logout' }).first().waitFor();
    await modal.locator('.btn-done').first().click();

    const listItems = page.locator('#operations-Items-listItems');
    await listItems.locator('.opblock-summary').click();
    await listItems.getByRole('button', { name: 'Execute' }).click();
    const status = listItems.locator('.live-responses-table .response .response-col_status');
    await status.waitFor();
    expect((await status.textContent())?.trim()).toBe('200');
    // The token came from this origin, whatever host the spec names for production.
    expect(tokenRequests).toEqual([`${origin}/v1/auth/token`]);
    await listItems.locator('.live-responses-table').scrollIntoViewIfNeeded();
    return (await listItems.locator('.live-responses-table .microlight').first().textContent()) ?? '';
  }

  it('when a partner authorizes in the console with client credentials, then it gets a token and lists its items', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const partner = await createPartnerClient(t, admin);
    const name = `Partner widget ${randomUUID()}`;
    await request(t.app)
      .post('/v1/items')
      .auth(partner.accessToken, { type: 'bearer' })
      .send({ name })
      .expect(201);

    await inFreshPage(async ({ page }) => {
      const shown = await listItemsInConsole(page, 'clientCredentials', async (modal) => {
        await modal.locator('#client_id_clientCredentials').fill(partner.clientId);
        await modal.locator('#client_secret_clientCredentials').fill(partner.clientSecret);
      });
      expect(shown).toContain(name);
      await page.screenshot({ path: `${SCREENSHOTS}/console.png` });
    });
  });

  it('when a user authorizes in the console with the password flow, then it gets a token and lists their items', async () => {
    const user = await createUser(t);
    const name = `User widget ${randomUUID()}`;
    await request(t.app)
      .post('/v1/items')
      .auth(user.accessToken, { type: 'bearer' })
      .send({ name })
      .expect(201);

    await inFreshPage(async ({ page }) => {
      const shown = await listItemsInConsole(page, 'password', async (modal) => {
        await modal.locator('#oauth_username').fill(user.email);
        await modal.locator('#oauth_password').fill(user.password);
        // The token endpoint takes no client for the password grant; Swagger UI's default sends an empty Basic one.
        await modal.locator('#password_type').selectOption('request-body');
      });
      expect(shown).toContain(name);
    });
  });

  it('when a partner creates twice in the console with different bodies, then each try sends a fresh Idempotency-Key and both are created', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const partner = await createPartnerClient(t, admin);

    await inFreshPage(async ({ page }) => {
      const keys: Array<string | undefined> = [];
      page.on('request', (sent) => {
        if (sent.method() === 'POST' && sent.url().endsWith('/v1/items'))
          keys.push(sent.headers()['idempotency-key']);
      });
      await listItemsInConsole(
        page,
        'clientCredentials',
        async (modal) => {
          await modal.locator('#client_id_clientCredentials').fill(partner.clientId);
          await modal.locator('#client_secret_clientCredentials').fill(partner.clientSecret);
        },
        ['items:read', 'items:write'],
      );
      const createItem = page.locator('#operations-Items-createItem');
      await createItem.locator('.opblock-summary').click();
      const statuses: number[] = [];
      for (const name of [`Console widget ${randomUUID()}`, `Console widget ${randomUUID()}`]) {
        await createItem.locator('textarea.body-param__text').fill(JSON.stringify({ name }));
        const [answer] = await Promise.all([
          page.waitForResponse(
            (response) => response.request().method() === 'POST' && response.url().endsWith('/v1/items'),
          ),
          createItem.getByRole('button', { name: 'Execute' }).click(),
        ]);
        statuses.push(answer.status());
      }

      expect(statuses).toEqual([201, 201]);
      expect(keys).toHaveLength(2);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(keys[1]).not.toBe(keys[0]);
    });
  });
});
