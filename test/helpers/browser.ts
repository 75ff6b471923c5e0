// Debian's chromium driven by puppeteer-core, for the dashboard tests. A missing chromium fails
// under CI (CI=true: .ci/run installs it) and skips with its reason elsewhere.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { ROOT } from './paths.js';
import { scratch } from './tmp.js';

export const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install chromium)`;
}

export async function launch(): Promise<Browser> {
  const { default: puppeteer } = await import('puppeteer-core');
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${scratch('cairn-chromium-')}`],
  });
}

/** A page that records every console error and uncaught exception (a test fails on any). */
export async function watchedPage(b: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await b.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${(e as Error).message}`));
  page.on('requestfailed', (r) => { if (!r.url().includes('/events/stream')) errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`); });
  return { page, errors };
}

/** Saves a screenshot under test-artifacts/ (git-ignored; CI keeps it as an artifact). */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(ROOT, 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  await page.screenshot({ path: file as `${string}.png` });
  return file;
}
