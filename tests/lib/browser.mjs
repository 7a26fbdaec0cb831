// Launches the machine's Debian Chromium through playwright-core (never a downloaded browser), in a fresh
// profile directory that close() removes, and collects what a page reports.
//
//   const browser = await launchBrowser();            // or launchBrowser({ args: ['--allow-file-access-from-files'] })
//   const page = await browser.newPage();
//   const seen = watchPage(page);                      // seen.console: [{type, text}], seen.errors: [string]
//   ...
//   await browser.close();
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.RINGFLATE_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser({ args = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, ...args],
    });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    context,
    /** A new tab; the persistent context's initial blank tab is reused once. */
    async newPage() {
      const blank = context.pages().find((p) => p.url() === 'about:blank' && !p.__ringflateUsed);
      const page = blank || (await context.newPage());
      page.__ringflateUsed = true;
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Records console messages and uncaught page errors of `page` (including its workers' console output). */
export function watchPage(page) {
  const seen = { console: [], errors: [] };
  page.on('console', (m) => seen.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => seen.errors.push(String(e && e.stack ? e.stack : e)));
  seen.describe = () => [...seen.console.map((m) => `[${m.type}] ${m.text}`), ...seen.errors.map((e) => `[pageerror] ${e}`)].join('\n');
  return seen;
}
