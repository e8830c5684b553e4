import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_TOKEN } from './app.js';

/** Debian's chromium (`.ci/run` installs it); override with CHROMIUM_PATH. */
const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = resolve('test-results', 'screenshots');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

const ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface TestBrowser {
  /**
   * A page in its own Chromium profile: a consumer, an agent and an operator in one test do not
   * share storage, like three people on three machines.
   */
  page(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Headless Chromium on the profile `--user-data-dir` (Playwright takes the profile as
 * `userDataDir` and passes the flag itself), with its first page. Closed and launched again on
 * the same profile, it is the same browser restarted: what it keeps on disk (cookies) is there.
 */
export async function launchProfile(
  profile: string,
  viewport = DESKTOP,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: EXECUTABLE,
    args: ARGS,
    viewport,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  for (const open of context.pages()) watch(open);
  context.on('page', watch);
  return { context, page };
}

/** Pages log their errors to stderr so a failing browser test says why. */
function watch(page: Page): void {
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => process.stderr.write(`[browser] page error: ${error.message}\n`));
  page.on('console', (message) => {
    if (message.type() === 'error') process.stderr.write(`[browser] console: ${message.text()}\n`);
  });
}

/** Headless Chromium, each page on a fresh throwaway profile (launchProfile). */
export async function launchBrowser(): Promise<TestBrowser> {
  const open: { context: BrowserContext; profile: string }[] = [];
  return {
    async page(viewport = DESKTOP) {
      const profile = mkdtempSync(join(tmpdir(), 'botbridge-chromium-'));
      const { context, page } = await launchProfile(profile, viewport);
      open.push({ context, profile });
      return page;
    },
    async close() {
      for (const { context, profile } of open) {
        await context.close().catch(() => undefined);
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

/** Saves `test-results/screenshots/<name>.png` (git-ignored) for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Signs the page in to the console with the admin token (once per browser, as an operator does); on the account list after. */
export async function signInAsOperator(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in as operator' }).click();
  await page.getByRole('heading', { name: 'Accounts' }).waitFor();
}
