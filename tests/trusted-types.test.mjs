// Trusted Types in Chromium: a page whose CSP says require-trusted-types-for 'script' refuses a plain string as
// a worker URL. startReplay then reports a clear error through onError and ready (nothing throws into the page,
// the worker file is never requested); with a TrustedScriptURL from the README's one-line policy it records,
// and the segment that reaches the ingest endpoint inflates to what the user did on the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { startServer } from './lib/server.mjs';
import { launchBrowser, watchPage } from './lib/browser.mjs';
import { ROOT } from './lib/bundle.mjs';

const WORKER = '/w/ringflate-worker.js';
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'; require-trusted-types-for 'script'; trusted-types ringflate";
const TIMEOUT = 20000;

let srv;
let browser;
let tmp;

before(async () => {
  const workerFile = path.join(ROOT, 'dist/ringflate-worker.js');
  assert.ok(fs.existsSync(workerFile), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-tt-'));
  const pages = path.join(ROOT, 'tests/pages');
  srv = await startServer({ sentry: { expectCompressed: true } });
  srv.file(WORKER, workerFile, { 'Content-Security-Policy': "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" });
  srv.file('/app/engine-tt.html', path.join(pages, 'engine-tt.html'), { 'Content-Security-Policy': PAGE_CSP });
  srv.file('/app/csp-watch.js', path.join(pages, 'csp-watch.js'));
  const out = path.join(tmp, 'engine-tt-page.js');
  await build({ entryPoints: [path.join(pages, 'engine-tt-page.js')], bundle: true, format: 'iife', target: 'es2020', outfile: out, logLevel: 'error' });
  srv.file('/app/engine-tt-page.js', out);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function open(tt) {
  const page = await browser.newPage();
  const seen = watchPage(page);
  const q = new URLSearchParams({ dsn: srv.dsn, worker: WORKER, tt: tt ? '1' : '0' });
  await page.goto(`${srv.origin}/app/engine-tt.html?${q}`);
  const ready = await page
    .waitForFunction(() => window.__tt.ready, null, { timeout: TIMEOUT })
    .then((h) => h.jsonValue())
    .catch((e) => {
      throw new Error(`ready did not settle: ${e.message}\n${seen.describe()}`);
    });
  return { page, seen, ready };
}

test('a plain string workerUrl under Trusted Types: a clear error, ready settles, nothing throws into the page', async () => {
  const before = srv.count(WORKER);
  const { page, seen, ready } = await open(false);
  const state = await page.evaluate(() => ({ errors: window.__tt.errors, threw: window.__tt.threw, violations: window.__cspViolations }));
  assert.equal(state.threw, null, 'startReplay did not throw');
  assert.deepEqual(seen.errors, [], 'no uncaught error or rejection on the page');
  assert.equal(state.errors.length, 1, `onError once: ${JSON.stringify(state.errors)}`);
  assert.match(state.errors[0], /^ringflate: the worker could not be created: this page enforces Trusted Types, so workerUrl must be a TrustedScriptURL/);
  assert.ok(!state.errors[0].includes('ringflate: ringflate:'));
  assert.equal(ready.mode, 'off');
  assert.equal(ready.replayId, undefined);
  assert.equal(ready.error, state.errors[0], 'ready carries the same error');
  assert.ok(state.violations.some((v) => v.directive === 'require-trusted-types-for'), `the browser reported the Trusted Types violation: ${JSON.stringify(state.violations)}`);
  assert.equal(srv.count(WORKER) - before, 0, 'the worker file was never requested');
  await page.close();
});

test('a TrustedScriptURL from a one-line policy: the replay records and its segment inflates to the page', async () => {
  const { page, seen, ready } = await open(true);
  assert.equal(ready.error, null, 'no error');
  assert.equal(ready.mode, 'session');
  assert.match(ready.replayId, /^[0-9a-f]{32}$/);
  await page.click('#note');
  await page.keyboard.type('paid in full', { delay: 20 });
  await page.evaluate(() => window.__tt.replay.flush());
  const ofReplay = () => srv.replays.filter((r) => r.event.replay_id === ready.replayId);
  await srv.waitFor(
    () => ofReplay().some((r) => r.events.some((e) => e.type === 3 && e.data?.source === 5 && e.data.text === 'paid in full')),
    TIMEOUT,
    'a segment with the typed text',
  );
  const segs = ofReplay();
  assert.equal(segs[0].segmentId, 0);
  assert.equal(segs[0].events[0].type, 4, 'segment 0 starts with Meta');
  assert.equal(segs[0].events[1].type, 2, 'then a FullSnapshot');
  assert.ok(segs[0].text.includes('Invoice 7731 was paid by bank transfer on Monday.'), 'the snapshot holds the page text');
  assert.deepEqual(srv.failures, [], 'every envelope parses strictly (compressed, 78 9C)');
  const state = await page.evaluate(() => ({ errors: window.__tt.errors, violations: window.__cspViolations }));
  assert.deepEqual(state.errors, []);
  assert.deepEqual(state.violations, [], 'no CSP or Trusted Types violation');
  assert.deepEqual(seen.errors, []);
  await page.close();
});
