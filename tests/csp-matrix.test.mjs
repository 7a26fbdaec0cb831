// The CSP matrix: page CSP × CSP sent with the worker file → ready / refused / blocked, in real Chromium.
// The rows come from the table in csp/README.md and the header values from the recipes in csp/, so the
// documentation and the recipes are exactly what is tested here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { startServer } from './lib/server.mjs';
import { launchBrowser, watchPage } from './lib/browser.mjs';
import { inflateStrict } from './lib/envelope.mjs';
import { ROOT } from './lib/bundle.mjs';

const WORKER_FILE = path.join(ROOT, 'dist/ringflate-worker.js');
const CSP_DIR = path.join(ROOT, 'csp');
const PAGE_HTML = path.join(ROOT, 'tests/pages/matrix.html');
const PROBE = path.join(ROOT, 'tests/pages/matrix-probe.js');

let srv;
let browser;
const extraServers = [];
const extraDirs = [];

before(async () => {
  assert.ok(fs.existsSync(WORKER_FILE), `${WORKER_FILE} is missing: run node worker/build.mjs first`);
  srv = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.close();
  for (const s of extraServers) await s.close();
  for (const d of extraDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Rows of the table between <!-- matrix:begin --> and <!-- matrix:end --> in csp/README.md. */
function readmeMatrix() {
  const md = fs.readFileSync(path.join(CSP_DIR, 'README.md'), 'utf8');
  const m = /<!-- matrix:begin -->([\s\S]*?)<!-- matrix:end -->/.exec(md);
  assert.ok(m, 'csp/README.md has the matrix table');
  const rows = m[1].split('\n').filter((l) => l.startsWith('|')).slice(2);
  return rows.map((line) => {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    assert.equal(cells.length, 3, `matrix row has 3 cells: ${line}`);
    const code = (c) => /`([^`]+)`/.exec(c)?.[1] ?? null;
    const page = code(cells[0]);
    const worker = cells[1] === 'none' ? null : code(cells[1]);
    const outcome = /\*\*(ready|refused|blocked)\*\*/.exec(cells[2])?.[1];
    assert.ok(page && (worker || cells[1] === 'none') && outcome, `cannot read matrix row: ${line}`);
    return { name: `README: page "${page}" + worker ${worker ? `"${worker}"` : 'none'}`, page, worker, outcome };
  });
}

/**
 * csp/nginx.conf: the CSP of `location /` (pages), and the regex and CSP of the `location ~ …ringflate-worker…`
 * block (the worker file). nginx regexes are PCRE; this one uses only syntax JavaScript reads the same way.
 */
function nginxCsp() {
  const conf = fs.readFileSync(path.join(CSP_DIR, 'nginx.conf'), 'utf8');
  const csp = (b, what) => {
    const v = /add_header\s+Content-Security-Policy\s+"([^"]+)"\s+always;/.exec(b)?.[1];
    assert.ok(v, `nginx.conf ${what} sets Content-Security-Policy ... always`);
    return v;
  };
  const page = /location\s+\/\s*\{([^}]*)\}/.exec(conf)?.[1];
  assert.ok(page, 'nginx.conf has a "location /" block');
  const worker = /location\s+~\s+(\S*ringflate-worker\S*)\s*\{([^}]*)\}/.exec(conf);
  assert.ok(worker, 'nginx.conf has a regex location for the worker file');
  return { page: csp(page, 'location /'), worker: csp(worker[2], `location ~ ${worker[1]}`), workerPath: new RegExp(worker[1]) };
}

/**
 * Runs an Electron recipe from csp/ with a stand-in for the `electron` module (Electron itself cannot be installed
 * here); other modules, such as ./electron-csp.cjs, are the real files. Returns the module's exports and what
 * the recipe did with the stand-in.
 */
function loadElectronRecipe(name) {
  const file = path.join(CSP_DIR, name);
  const calls = { privileged: [], handlers: {}, headerListeners: [], loaded: [] };
  let ready;
  const fakeElectron = {
    app: { whenReady: () => new Promise((resolve) => { ready = resolve; }) },
    BrowserWindow: function () { this.loadURL = (u) => calls.loaded.push(u); this.loadFile = (f) => calls.loaded.push(f); },
    session: { defaultSession: { webRequest: { onHeadersReceived: (fn) => calls.headerListeners.push(fn) } } },
    protocol: {
      registerSchemesAsPrivileged: (schemes) => {
        assert.equal(ready, undefined, 'schemes are registered before the app is ready');
        calls.privileged.push(...schemes);
      },
      handle: (scheme, fn) => { calls.handlers[scheme] = fn; },
    },
  };
  const req = createRequire(file);
  const mod = { exports: {} };
  vm.runInThisContext(`(function (require, module, exports, __dirname, __filename) {${fs.readFileSync(file, 'utf8')}\n})`, { filename: file })(
    (n) => (n === 'electron' ? fakeElectron : req(n)), mod, mod.exports, CSP_DIR, file);
  return { exports: mod.exports, calls, ready: async () => { ready(); await new Promise((r) => setImmediate(r)); } };
}

/** csp/electron-main.cjs's onHeadersReceived listener, as a function (url, responseHeaders) → responseHeaders. */
function electronHandler() {
  const { exports, calls } = loadElectronRecipe('electron-main.cjs');
  assert.equal(typeof exports.installCsp, 'function', 'electron-main.cjs exports installCsp');
  let listener = null;
  exports.installCsp({ webRequest: { onHeadersReceived: (fn) => { listener = fn; } } });
  assert.equal(typeof listener, 'function', 'installCsp registers onHeadersReceived');
  assert.equal(calls.headerListeners.length, 0, 'nothing is installed before the app is ready');
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

function assertOutcome(report, outcome, what) {
  const ctx = `${what}: got ${JSON.stringify({ kind: report.kind, data: report.data, message: report.message, violations: report.violations })}\nconsole:\n${report.console}`;
  if (outcome === 'ready') {
    assert.equal(report.kind, 'ready', ctx);
    assert.equal(report.finish.success, true, ctx);
    const text = inflateStrict(Buffer.from(report.finish.base64, 'base64'), `${what}: finish`).toString('utf8');
    assert.equal(text, `[${report.events.join(',')}]`, `${what}: the worker compresses`);
    assert.deepEqual(report.violations, [], `${what}: no CSP violation on the page`);
  } else if (outcome === 'refused') {
    assert.equal(report.kind, 'refused', ctx);
    assert.equal(report.data.method, 'init', ctx);
    assert.equal(report.data.id, undefined, ctx);
    assert.match(report.data.response, /'wasm-unsafe-eval'/, `${what}: the first message names 'wasm-unsafe-eval'`);
    assert.ok(report.ms < 1000, `${what}: refusal reported within 1 s (took ${Math.round(report.ms)} ms)`);
    assert.deepEqual(report.violations, [], `${what}: the refusal happens inside the worker, not on the page`);
  } else if (outcome === 'blocked') {
    assert.equal(report.kind, 'error', ctx);
    assert.ok(report.violations.some((v) => v.effective === 'worker-src'), `${what}: the page gets a worker-src violation. ${ctx}`);
  } else {
    assert.fail(`unknown outcome ${outcome}`);
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
  s.file('/ringflate-worker.js', WORKER_FILE);
  const report = await runCase({ server: s, prefix: root });
  assertOutcome(report, 'ready', 'express + helmet recipe');
  const sent = (p) => s.log.find((l) => l.path === p)?.csp;
  assert.match(sent('/index.html'), /script-src 'self'(;|$)/, 'helmet sent the page policy');
  assert.ok(!sent('/index.html').includes('wasm-unsafe-eval'), 'the page policy has no wasm-unsafe-eval');
  assert.match(sent('/ringflate-worker.js'), /script-src 'self' 'wasm-unsafe-eval'/, 'helmet sent the worker policy');
  assert.match(sent('/ringflate-worker.js'), /default-src 'none'/);
});

test('csp/electron-main.cjs: onHeadersReceived gives page and worker their policies, replacing any CSP', async () => {
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

// The names the worker file is served under: copied by `npx ringflate init`, emitted by Vite
// (`ringflate/worker?url`) and by webpack with the asset rule of csp/README.md (tests/bundlers.test.mjs builds
// both and checks the names it gets against these recipes).
const WORKER_NAMES = ['/ringflate-worker.js', '/public/ringflate-worker.js', '/assets/ringflate-worker-CHlVwGCS.js',
  '/assets/ringflate-worker.d17007d1.js', '/static/js/ringflate-worker-a_B-9.js'];
const OTHER_NAMES = ['/', '/index.html', '/app.js', '/assets/index-CNV2ggf2.js', '/ringflate-worker.js.map',
  '/my-ringflate-worker.js', '/ringflate-worker.json', '/ringflate-workers.js', '/ringflate-worker.js/page.html'];

test('every recipe gives the worker policy to the worker file under each of its names, and to nothing else', async () => {
  const nginx = nginxCsp();
  const recipe = await import(path.join(CSP_DIR, 'express-helmet.mjs'));
  const helmetCsp = (url) => {
    const headers = {};
    const res = { setHeader: (k, v) => { headers[k.toLowerCase()] = v; }, getHeader: (k) => headers[k.toLowerCase()] };
    let nextCalled = false;
    recipe.ringflateCsp({ url, method: 'GET', headers: {} }, res, () => { nextCalled = true; });
    assert.ok(nextCalled, 'the middleware passes the request on');
    return headers['content-security-policy'];
  };
  const electron = electronHandler();
  const electronCsp = (p) => electron(`http://localhost:5173${p}`, {})['Content-Security-Policy'][0];
  const helmetWorker = helmetCsp('/ringflate-worker.js');
  const electronWorker = electronCsp('/ringflate-worker.js');
  assert.match(helmetWorker, /'wasm-unsafe-eval'/);
  assert.equal(electronWorker, nginx.worker, 'electron-csp.cjs and nginx.conf send the same worker policy');
  for (const p of WORKER_NAMES) {
    assert.ok(nginx.workerPath.test(p), `nginx.conf: ${p} is the worker`);
    assert.equal(helmetCsp(p), helmetWorker, `express-helmet.mjs: ${p} is the worker`);
    assert.equal(helmetCsp(`${p}?v=2`), helmetWorker, `express-helmet.mjs: ${p}?v=2 is the worker`);
    assert.equal(electronCsp(p), electronWorker, `electron-csp.cjs: ${p} is the worker`);
  }
  for (const p of OTHER_NAMES) {
    assert.ok(!nginx.workerPath.test(p), `nginx.conf: ${p} is a page`);
    assert.notEqual(helmetCsp(p), helmetWorker, `express-helmet.mjs: ${p} is a page`);
    assert.ok(!helmetCsp(p).includes('wasm-unsafe-eval'), `express-helmet.mjs: ${p} gets no wasm-unsafe-eval`);
    assert.notEqual(electronCsp(p), electronWorker, `electron-csp.cjs: ${p} is a page`);
  }
});

test('csp/electron-protocol.cjs: a privileged app:// scheme served by protocol.handle, each file with its own CSP', async () => {
  const { exports, calls, ready } = loadElectronRecipe('electron-protocol.cjs');
  assert.deepEqual(calls.privileged, [{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }],
    'the scheme is registered as standard, secure and supporting fetch');
  assert.deepEqual(Object.keys(calls.handlers), [], 'protocol.handle waits for the app to be ready');
  await ready();
  assert.equal(typeof calls.handlers.app, 'function', 'protocol.handle("app", …) once ready');
  assert.deepEqual(calls.loaded, ['app://bundle/index.html'], 'the window loads the app from the scheme');

  // The renderer files, and a file next to them that must never be served.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-protocol-'));
  extraDirs.push(tmp);
  const root = path.join(tmp, 'renderer');
  fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
  fs.copyFileSync(PAGE_HTML, path.join(root, 'index.html'));
  fs.copyFileSync(PROBE, path.join(root, 'app.js'));
  fs.copyFileSync(WORKER_FILE, path.join(root, 'ringflate-worker.js'));
  fs.writeFileSync(path.join(tmp, 'secret.txt'), 'not for the renderer');
  const get = (url, r = root) => exports.handleAppRequest({ url }, r);
  assert.equal((await get('app://bundle/%2e%2e/secret.txt')).status, 404, 'nothing outside the renderer folder');
  assert.equal((await get('app://other/index.html')).status, 404, 'only the app host');
  assert.equal((await get('app://bundle/missing.js')).status, 404);
  assert.equal((await calls.handlers.app({ url: 'app://bundle/no-such-file.html' })).status, 404, 'the registered handler answers too');
  const page = await get('app://bundle/');
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.ok(!page.headers.get('content-security-policy').includes('wasm-unsafe-eval'));
  const worker = await get('app://bundle/ringflate-worker.js');
  assert.equal(worker.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(worker.headers.get('content-security-policy'), /script-src 'self' 'wasm-unsafe-eval'/);
  assert.ok(Buffer.from(await worker.arrayBuffer()).equals(fs.readFileSync(WORKER_FILE)), 'the worker file, byte for byte');

  // Chromium cannot load app:// without Electron: the same handler answers a loopback origin instead, so the
  // browser gets exactly the responses (body, type, CSP) the recipe builds.
  const s = await startServer();
  extraServers.push(s);
  const served = [];
  s.use(async (req, res) => {
    const r = await get(`app://bundle${req.url}`);
    served.push({ path: req.url, status: r.status, csp: r.headers.get('content-security-policy') });
    res.writeHead(r.status, Object.fromEntries(r.headers));
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  const report = await runCase({ server: s, prefix: '/' });
  assertOutcome(report, 'ready', 'electron protocol.handle recipe');
  const w = served.filter((x) => x.path === '/ringflate-worker.js');
  assert.equal(w.length, 1, 'the worker file was fetched once');
  assert.match(w[0].csp, /'wasm-unsafe-eval'/, 'with the worker policy');
});
