// Launches the machine's Debian Firefox ESR through puppeteer-core over WebDriver BiDi (never a downloaded
// browser), headless, in a fresh profile that close() removes, with preferences that keep it off the network:
// every request that is not to loopback goes to a proxy on a closed loopback port and fails at once, and the
// services that call home (updates, telemetry, safe browsing, remote settings, captive portal, push, DoH) are
// switched off.
//
//   const ff = await launchFirefox();
//   const page = await ff.newPage();
//   const seen = watchPage(page);                      // from ./browser.mjs: the same events exist here
//   ...
//   await ff.close();
//
// Puppeteer's page API differs from Playwright's in a few places the tests use: waitForFunction takes
// (fn, options, ...args), there is no page.fill or page.waitForTimeout (use sleep below).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import puppeteer from 'puppeteer-core';

export const FIREFOX = process.env.RINGFLATE_FIREFOX || '/usr/bin/firefox-esr';

// A port nothing listens on (discard): a proxy there refuses every connection immediately.
const DEAD_PROXY_PORT = 9;

/** Preferences on top of puppeteer's own test profile (which already disables updates and health reports). */
export const FIREFOX_PREFS = {
  // Everything but loopback goes through a proxy that is not there. Loopback is never proxied
  // (network.proxy.allow_hijacking_localhost stays false), so the local test servers are reached directly.
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': DEAD_PROXY_PORT,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': DEAD_PROXY_PORT,
  'network.proxy.socks': '',
  'network.proxy.share_proxy_settings': true,
  'network.proxy.no_proxies_on': '',
  'network.proxy.allow_hijacking_localhost': false,
  'network.proxy.socks_remote_dns': true,
  'network.trr.mode': 5,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'network.http.speculative-parallel-limit': 0,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'captivedetect.canonicalURL': '',
  'security.OCSP.enabled': 0,
  'security.remote_settings.crlite_filters.enabled': false,
  'app.update.auto': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'browser.discovery.enabled': false,
  'browser.ping-centre.telemetry': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.safebrowsing.provider.google.updateURL': '',
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.newtabpage.activity-stream.feeds.section.topstories': false,
  'browser.newtabpage.activity-stream.feeds.snippets': false,
  'browser.topsites.contile.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'dom.push.connection.enabled': false,
  'dom.push.serverURL': '',
  'extensions.blocklist.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'identity.fxaccounts.enabled': false,
  'media.gmp-manager.url': '',
  'media.gmp-gmpopenh264.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': 'data:,',
  'toolkit.coverage.endpoint.base': '',
  // A file:// page is its own unique origin (the default); puppeteer's profile relaxes this, the tests do not.
  'security.fileuri.strict_origin_policy': true,
};

/** `Mozilla Firefox 153.8.0esr` → '153.8.0esr' ('(not installed)' when the binary is missing: launchFirefox says why). */
export function firefoxVersion() {
  if (!fs.existsSync(FIREFOX)) return '(not installed)';
  return execFileSync(FIREFOX, ['--version'], { encoding: 'utf8' }).trim().replace(/^Mozilla Firefox\s+/, '');
}

export async function launchFirefox({ prefs = {} } = {}) {
  if (!fs.existsSync(FIREFOX)) throw new Error(`${FIREFOX} is missing: run bash .ci/setup (installs Debian's firefox-esr)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-firefox-'));
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: FIREFOX,
      headless: true,
      userDataDir: dir,
      extraPrefsFirefox: { ...FIREFOX_PREFS, ...prefs },
      // Puppeteer's pipe to the browser's stderr is not read by the tests; keep the output out of their logs.
      dumpio: false,
      // Release builds ignore a remote-settings server override (puppeteer's profile points it at a data: URL)
      // unless this variable is set; without it Firefox keeps resolving its settings host.
      env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1', MOZ_CRASHREPORTER_DISABLE: '1', MOZ_DISABLE_AUTO_SAFE_MODE: '1' },
    });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const used = new WeakSet();
  return {
    browser,
    /** A new tab; the browser's initial blank tab is reused once. */
    async newPage() {
      const blank = (await browser.pages()).find((p) => p.url() === 'about:blank' && !used.has(p));
      const page = blank || (await browser.newPage());
      used.add(page);
      return page;
    },
    async close() {
      await browser.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
