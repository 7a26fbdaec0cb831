// A file:// page starting the worker from a relative path, in Firefox. Firefox differs from Chromium here: with
// its default settings every file is its own origin (security.fileuri.strict_origin_policy), so a page opened
// from disk may not start a worker from the file beside it. The Worker gets an error event (which Sentry treats
// as "no worker" and keeps events uncompressed) and Firefox logs a Security Error. With the policy relaxed, the
// counterpart of Chromium's --allow-file-access-from-files (tests/file-origin.test.mjs), the worker works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { watchPage } from './lib/browser.mjs';
import { launchFirefox } from './lib/firefox.mjs';
import { assertOutcome, CSP_DIR, WORKER_FILE, PAGE_HTML, PROBE } from './lib/csp-matrix.mjs';

let tmp;

before(() => {
  assert.ok(fs.existsSync(WORKER_FILE), `${WORKER_FILE} is missing: run node worker/build.mjs first`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-ff-file-'));
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A folder with the page, the probe as app.js and the worker beside it; returns the page's file:// URL. */
function folder(name, pageFile) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.copyFileSync(pageFile, path.join(dir, 'index.html'));
  fs.copyFileSync(PROBE, path.join(dir, 'app.js'));
  fs.copyFileSync(WORKER_FILE, path.join(dir, 'ringflate-worker.js'));
  return pathToFileURL(path.join(dir, 'index.html')).href;
}

async function probe(ff, url) {
  const tab = await ff.newPage();
  const seen = watchPage(tab);
  try {
    await tab.goto(url);
    await tab.waitForFunction(() => window.__probe, { timeout: 10000 });
    const report = await tab.evaluate(() => window.__probe);
    report.events = await tab.evaluate(() => window.__probeEvents);
    report.protocol = await tab.evaluate(() => location.protocol);
    report.seen = seen;
    report.console = seen.describe();
    return report;
  } finally {
    await tab.close();
  }
}

test('Firefox, default settings: a file:// page may not start the worker beside it (error event, Security Error)', async () => {
  const ff = await launchFirefox();
  try {
    const url = folder('strict', PAGE_HTML);
    const report = await probe(ff, url);
    assert.equal(report.protocol, 'file:');
    assert.equal(report.kind, 'error', `the Worker gets an error event: ${JSON.stringify(report)}`);
    assert.deepEqual(report.violations, [], 'not a CSP matter: no securitypolicyviolation');
    const workerUrl = url.replace(/index\.html$/, 'ringflate-worker.js');
    assert.ok(report.seen.errors.some((e) => e.includes('Security Error') && e.includes(`may not load data from ${workerUrl}`)),
      `Firefox logs why: ${report.console}`);
  } finally {
    await ff.close();
  }
});

test('Firefox with file:// origins relaxed: the worker works, also under the <meta> CSP recipe', async () => {
  const ff = await launchFirefox({ prefs: { 'security.fileuri.strict_origin_policy': false } });
  try {
    const plain = await probe(ff, folder('relaxed', PAGE_HTML));
    assert.equal(plain.protocol, 'file:');
    assertOutcome(plain, 'ready', 'file:// page');
    assert.deepEqual(plain.seen.errors, [], 'nothing in the page console');

    const meta = await probe(ff, `${folder('meta', path.join(CSP_DIR, 'meta-tag.html'))}?blob=1`);
    assert.equal(meta.blobRefused, true, 'the <meta> CSP is in force: a blob: worker is refused');
    assert.ok(meta.violations.some((v) => v.effective === 'worker-src' && v.blocked === 'blob'), JSON.stringify(meta.violations));
    meta.violations = meta.violations.filter((v) => v.blocked !== 'blob');
    assertOutcome(meta, 'ready', 'file:// page with the <meta> CSP');
  } finally {
    await ff.close();
  }
});
