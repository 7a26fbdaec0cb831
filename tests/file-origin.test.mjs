// Origins other than a plain http page on 127.0.0.1, standing in for Electron: a file:// page (Chromium with
// --allow-file-access-from-files, as Electron allows) starting the worker from a relative path, and a
// page + worker served from a second loopback origin (http://localhost:<port>, standing in for a custom scheme).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer } from './lib/server.mjs';
import { launchBrowser, watchPage } from './lib/browser.mjs';
import { inflateStrict } from './lib/envelope.mjs';
import { ROOT } from './lib/bundle.mjs';

const WORKER_FILE = path.join(ROOT, 'dist/ringflate-worker.js');
const PROBE = path.join(ROOT, 'tests/pages/matrix-probe.js');
const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'";
const WORKER_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'";

let browser;
let srv;
let tmp;

before(async () => {
  assert.ok(fs.existsSync(WORKER_FILE), `${WORKER_FILE} is missing: run node worker/build.mjs first`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-file-'));
  browser = await launchBrowser({ args: ['--allow-file-access-from-files'] });
});

after(async () => {
  await browser?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Opens `url`, waits for the probe (tests/pages/matrix-probe.js) and checks the worker compressed. */
async function probe(url) {
  const page = await browser.newPage();
  const seen = watchPage(page);
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.__probe, null, { timeout: 10000 });
    const r = await page.evaluate(() => window.__probe);
    const events = await page.evaluate(() => window.__probeEvents);
    const { origin, protocol } = await page.evaluate(() => ({ origin: location.origin, protocol: location.protocol }));
    const ctx = `${url}: ${JSON.stringify({ kind: r.kind, data: r.data, message: r.message, violations: r.violations })}\nconsole:\n${seen.describe()}`;
    assert.equal(r.kind, 'ready', ctx);
    assert.equal(r.finish.success, true, ctx);
    const text = inflateStrict(Buffer.from(r.finish.base64, 'base64'), 'finish').toString('utf8');
    assert.equal(text, `[${events.join(',')}]`, 'the finish result inflates to the events');
    if (r.blobRefused !== null) {
      // ?blob=1: the probe also tried a blob: worker, which the page's CSP must refuse.
      assert.equal(r.blobRefused, true, 'the page CSP is in force: a blob: worker is refused');
      assert.ok(r.violations.some((v) => v.effective === 'worker-src' && v.blocked === 'blob'), `blob: worker-src violation: ${JSON.stringify(r.violations)}`);
      r.violations = r.violations.filter((v) => v.blocked !== 'blob');
    }
    assert.deepEqual(r.violations, [], 'no CSP violations');
    assert.deepEqual(seen.errors, [], 'no page errors');
    return { origin, protocol };
  } finally {
    await page.close();
  }
}

test('file:// page starts the worker from a relative path and gets a working finish result', async () => {
  const dir = path.join(tmp, 'app');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(ROOT, 'tests/pages/matrix.html'), path.join(dir, 'index.html'));
  fs.copyFileSync(PROBE, path.join(dir, 'app.js'));
  fs.copyFileSync(WORKER_FILE, path.join(dir, 'ringflate-worker.js'));
  const { protocol } = await probe(pathToFileURL(path.join(dir, 'index.html')).href);
  assert.equal(protocol, 'file:', 'the page ran from file://');
});

test('file:// page with the <meta> CSP recipe (csp/meta-tag.html): the policy is in force and the worker works', async () => {
  const dir = path.join(tmp, 'meta');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(ROOT, 'csp/meta-tag.html'), path.join(dir, 'index.html'));
  fs.copyFileSync(PROBE, path.join(dir, 'app.js'));
  fs.copyFileSync(WORKER_FILE, path.join(dir, 'ringflate-worker.js'));
  const { protocol } = await probe(`${pathToFileURL(path.join(dir, 'index.html')).href}?blob=1`);
  assert.equal(protocol, 'file:');
});

test('file:// page with the Electron loadFile recipe (csp/electron-file.html): <meta> policy in force, relative worker URL works', async () => {
  const dir = path.join(tmp, 'electron-file');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(ROOT, 'csp/electron-file.html'), path.join(dir, 'index.html'));
  fs.copyFileSync(PROBE, path.join(dir, 'app.js'));
  fs.copyFileSync(WORKER_FILE, path.join(dir, 'ringflate-worker.js'));
  const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="[^"]*worker-src 'self'/, 'the recipe sets the page policy in a <meta> tag');
  assert.match(html, /workerUrl: 'ringflate-worker\.js'/, 'the recipe shows a relative workerUrl');
  const { protocol } = await probe(`${pathToFileURL(path.join(dir, 'index.html')).href}?blob=1`);
  assert.equal(protocol, 'file:');
});

test('page and worker from a second loopback origin (http://localhost:<port>) work', async () => {
  srv = await startServer();
  srv.file('/index.html', path.join(ROOT, 'tests/pages/matrix.html'), { 'Content-Security-Policy': PAGE_CSP });
  srv.file('/app.js', PROBE);
  srv.file('/ringflate-worker.js', WORKER_FILE, { 'Content-Security-Policy': WORKER_CSP });
  const url = `http://localhost:${srv.port}/index.html`;
  const { origin } = await probe(url);
  assert.equal(origin, `http://localhost:${srv.port}`);
  assert.notEqual(origin, srv.origin, 'a different origin from http://127.0.0.1');
  const fetches = srv.log.filter((l) => l.path === '/ringflate-worker.js');
  assert.equal(fetches.length, 1, 'the worker file is fetched once');
  assert.match(fetches[0].host, /^localhost:/, 'the worker came from the localhost origin');
});
