// The CSP matrix: page CSP × CSP sent with the worker file → ready / refused / blocked, in real Chromium.
// The rows come from the table in csp/README.md and the header values from the recipes in csp/, so the
// documentation and the recipes are exactly what is tested here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { startServer } from './lib/server.mjs';
import { launchBrowser, watchPage } from './lib/browser.mjs';
import { readmeMatrix, assertOutcome } from './lib/csp-matrix.mjs';
import { ROOT } from './lib/bundle.mjs';

const WORKER_FILE = path.join(ROOT, 'dist/ringflate-worker.js');
const CSP_DIR = path.join(ROOT, 'csp');
const PAGE_HTML = path.join(ROOT, 'tests/pages/matrix.html');
const PROBE = path.join(ROOT, 'tests/pages/matrix-probe.js');

let srv;
let browser;
const extraServers = [];

before(async () => {
  assert.ok(fs.existsSync(WORKER_FILE), `${WORKER_FILE} is missing: run node worker/build.mjs first`);
  srv = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.close();
  for (const s of extraServers) await s.close();
});

// readmeMatrix() and assertOutcome() come from tests/lib/csp-matrix.mjs, shared with the Firefox test.

/** The two CSP values of csp/nginx.conf: `location /` and `location = /ringflate-worker.js`. */
function nginxCsp() {
  const conf = fs.readFileSync(path.join(CSP_DIR, 'nginx.conf'), 'utf8');
  const block = (loc) => {
    const re = new RegExp(`location\\s+${loc.replace(/[/.=]/g, '\\$&')}\\s*\\{([^}]*)\\}`);
    const b = re.exec(conf)?.[1];
    assert.ok(b, `nginx.conf has a "location ${loc}" block`);
    const v = /add_header\s+Content-Security-Policy\s+"([^"]+)"\s+always;/.exec(b)?.[1];
    assert.ok(v, `nginx.conf "location ${loc}" sets Content-Security-Policy ... always`);
    return v;
  };
  return { page: block('/'), worker: block('= /ringflate-worker.js') };
}

/** Runs csp/electron-main.js with a stand-in for the `electron` module and returns its header handler. */
function electronHandler() {
  const file = path.join(CSP_DIR, 'electron-main.js');
  let listener = null;
  const fakeElectron = {
    app: { whenReady: () => new Promise(() => {}) }, // the window part never runs here
    BrowserWindow: function () {},
    session: { defaultSession: null },
  };
  const req = createRequire(file);
  const mod = { exports: {} };
  vm.runInThisContext(`(function (require, module, exports) {${fs.readFileSync(file, 'utf8')}\n})`, { filename: file })(
    (name) => (name === 'electron' ? fakeElectron : req(name)), mod, mod.exports);
  assert.equal(typeof mod.exports.installCsp, 'function', 'electron-main.js exports installCsp');
  mod.exports.installCsp({ webRequest: { onHeadersReceived: (fn) => { listener = fn; } } });
  assert.equal(typeof listener, 'function', 'installCsp registers onHeadersReceived');
  return (url, responseHeaders) => {
    let out = null;
    listener({ url, responseHeaders }, (r) => { out = r; });
    assert.ok(out, 'onHeadersReceived calls back synchronously');
    return out.responseHeaders;
  };
}

let caseNo = 0;
/** Serves the probe page with `page` CSP and the worker with `worker` CSP under a fresh path; returns the probe's report. */
async function runCase({ page: pageCsp, worker: workerCsp, pageFile = PAGE_HTML, server = srv, prefix, query = '' }) {
  const base = prefix ?? `/m/${++caseNo}/`;
  if (pageCsp !== undefined) {
    server.file(`${base}index.html`, pageFile, pageCsp ? { 'Content-Security-Policy': pageCsp } : {});
    server.file(`${base}app.js`, PROBE);
    server.file(`${base}ringflate-worker.js`, WORKER_FILE, workerCsp ? { 'Content-Security-Policy': workerCsp } : {});
  }
  const tab = await browser.newPage();
  const seen = watchPage(tab);
  try {
    await tab.goto(`${server.origin}${base}index.html${query}`);
    const report = await tab.waitForFunction(() => window.__probe, null, { timeout: 10000 })
      .then(() => tab.evaluate(() => window.__probe));
    report.events = await tab.evaluate(() => window.__probeEvents);
    report.console = seen.describe();
    report.base = base;
    return report;
  } finally {
    await tab.close();
  }
}

test('the matrix in csp/README.md', async (t) => {
  const rows = readmeMatrix();
  assert.ok(rows.length >= 8, `${rows.length} rows`);
  for (const kind of ['ready', 'refused', 'blocked']) assert.ok(rows.some((r) => r.outcome === kind), `the table has a ${kind} row`);
  for (const row of rows) {
    await t.test(row.name, async () => {
      const report = await runCase(row);
      assertOutcome(report, row.outcome, row.name);
      const workerFetches = srv.log.filter((l) => l.path === `${report.base}ringflate-worker.js`);
      if (row.outcome !== 'blocked') {
        assert.equal(workerFetches.length, 1, 'the worker file is fetched once');
        assert.equal(workerFetches[0].csp, row.worker, 'the worker file was served with the CSP of the row');
      } else {
        assert.equal(workerFetches.length, 0, 'a blocked worker is never fetched');
      }
    });
  }
});

test('csp/nginx.conf: its page and worker policies work together; its page policy alone on the worker is refused', async () => {
  const { page, worker } = nginxCsp();
  assert.ok(!page.includes('wasm-unsafe-eval') && worker.includes("'wasm-unsafe-eval'"), 'only the worker policy allows WASM');
  assertOutcome(await runCase({ page, worker }), 'ready', 'nginx recipe');
  // What a server-level add_header (one policy everywhere) would do.
  assertOutcome(await runCase({ page, worker: page }), 'refused', 'nginx page policy on the worker too');
});

test('csp/express-helmet.mjs: the middleware, run by helmet on a real server, gives a working worker', async () => {
  const recipe = await import(path.join(CSP_DIR, 'express-helmet.mjs'));
  const s = await startServer();
  extraServers.push(s);
  s.use(recipe.ringflateCsp);
  const root = '/';
  s.file('/index.html', PAGE_HTML);
  s.file('/app.js', PROBE);
  s.file(recipe.WORKER_PATH, WORKER_FILE);
  const report = await runCase({ server: s, prefix: root });
  assertOutcome(report, 'ready', 'express + helmet recipe');
  const sent = (p) => s.log.find((l) => l.path === p)?.csp;
  assert.match(sent('/index.html'), /script-src 'self'(;|$)/, 'helmet sent the page policy');
  assert.ok(!sent('/index.html').includes('wasm-unsafe-eval'), 'the page policy has no wasm-unsafe-eval');
  assert.match(sent('/ringflate-worker.js'), /script-src 'self' 'wasm-unsafe-eval'/, 'helmet sent the worker policy');
  assert.match(sent('/ringflate-worker.js'), /default-src 'none'/);
});

test('csp/electron-main.js: onHeadersReceived gives page and worker their policies, replacing any CSP', async () => {
  const headersFor = electronHandler();
  const pageHeaders = headersFor('http://localhost:5173/index.html', { 'content-security-policy': ["script-src 'self'"], 'Content-Type': ['text/html'] });
  const workerHeaders = headersFor('http://localhost:5173/assets/ringflate-worker.js?v=3', { 'Content-Security-Policy': ["default-src 'self'"] });
  const only = (h) => {
    const keys = Object.keys(h).filter((k) => k.toLowerCase() === 'content-security-policy');
    assert.equal(keys.length, 1, `exactly one CSP header, got ${JSON.stringify(h)}`);
    assert.equal(h[keys[0]].length, 1);
    return h[keys[0]][0];
  };
  const page = only(pageHeaders);
  const worker = only(workerHeaders);
  assert.deepEqual(pageHeaders['Content-Type'], ['text/html'], 'other headers are kept');
  assert.notEqual(page, worker);
  assertOutcome(await runCase({ page, worker }), 'ready', 'electron recipe');
});

test('csp/meta-tag.html as the page: the meta policy is enforced and the worker works', async () => {
  const base = '/meta/';
  srv.file(`${base}index.html`, path.join(CSP_DIR, 'meta-tag.html'));
  srv.file(`${base}app.js`, PROBE);
  srv.file(`${base}ringflate-worker.js`, WORKER_FILE);
  const report = await runCase({ prefix: base, query: '?blob=1' });
  assert.equal(report.blobRefused, true, 'the <meta> CSP is in force: a blob: worker is refused');
  assert.ok(report.violations.some((v) => v.effective === 'worker-src' && v.blocked === 'blob'), `worker-src violation for blob: ${JSON.stringify(report.violations)}`);
  report.violations = report.violations.filter((v) => v.blocked !== 'blob');
  assertOutcome(report, 'ready', 'meta-tag recipe');
});
