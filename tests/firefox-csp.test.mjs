// The CSP matrix in Firefox: page CSP × CSP sent with the worker file → ready / refused / blocked, read from the
// table in csp/README.md (tests/lib/csp-matrix.mjs, as in the Chromium test), plus the header and <meta>
// recipes and the violation reports, in Debian's Firefox ESR over WebDriver BiDi.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from './lib/server.mjs';
import { watchPage } from './lib/browser.mjs';
import { launchFirefox, sleep } from './lib/firefox.mjs';
import { readmeMatrix, serveCase, assertOutcome, CSP_DIR, WORKER_FILE, PAGE_HTML, PROBE } from './lib/csp-matrix.mjs';

let srv;
let ff;
const extraServers = [];

before(async () => {
  assert.ok(fs.existsSync(WORKER_FILE), `${WORKER_FILE} is missing: run node worker/build.mjs first`);
  srv = await startServer();
  ff = await launchFirefox();
});

after(async () => {
  await ff?.close();
  await srv?.close();
  for (const s of extraServers) await s.close();
});

/** Opens `${server.origin}${base}index.html${query}` and returns the probe's report with what the tab logged. */
async function probe(server, base, query = '') {
  const tab = await ff.newPage();
  const seen = watchPage(tab);
  try {
    await tab.goto(`${server.origin}${base}index.html${query}`);
    await tab.waitForFunction(() => window.__probe, { timeout: 10000 });
    const report = await tab.evaluate(() => window.__probe);
    report.events = await tab.evaluate(() => window.__probeEvents);
    report.seen = seen;
    report.console = seen.describe();
    report.base = base;
    return report;
  } finally {
    await tab.close();
  }
}

// Firefox writes a CSP block in the page's console as an error of the page, which WebDriver BiDi reports as a
// JavaScript log entry (puppeteer: 'pageerror'); Chromium logs a console 'error'. The worker's own refusal of
// WebAssembly leaves nothing in the page's console in either browser.
function assertFirefoxBlockLogged(report, blocked) {
  assert.ok(
    report.seen.errors.some((e) => e.includes('Content-Security-Policy') && e.includes('(worker-src)') && e.includes(blocked)),
    `Firefox logs the blocked worker (${blocked}) as a page error: ${report.console}`,
  );
}

test('Firefox: the matrix in csp/README.md', async (t) => {
  const rows = readmeMatrix();
  assert.ok(rows.length >= 8, `${rows.length} rows`);
  for (const kind of ['ready', 'refused', 'blocked']) assert.ok(rows.some((r) => r.outcome === kind), `the table has a ${kind} row`);
  for (const row of rows) {
    await t.test(row.name, async () => {
      const base = serveCase(srv, row);
      const report = await probe(srv, base);
      assertOutcome(report, row.outcome, row.name);
      const workerFetches = srv.log.filter((l) => l.path === `${base}ringflate-worker.js`);
      if (row.outcome !== 'blocked') {
        assert.equal(workerFetches.length, 1, 'the worker file is fetched once');
        assert.equal(workerFetches[0].csp, row.worker, 'the worker file was served with the CSP of the row');
        assert.deepEqual(report.seen.errors, [], 'nothing in the page console');
      } else {
        assert.equal(workerFetches.length, 0, 'a blocked worker is never fetched');
        assertFirefoxBlockLogged(report, `${srv.origin}${base}ringflate-worker.js`);
      }
      if (row.outcome === 'refused') {
        // Firefox's own words, which the worker passes on after naming the directive to add.
        assert.match(report.data.response, /Browser said: call to WebAssembly\.(compile|instantiate)\(\) blocked by CSP$/);
      }
    });
  }
});

test('Firefox: csp/nginx.conf, its page and worker policies work together; its page policy alone on the worker is refused', async () => {
  // The two policies the recipe sends, whatever locations carry them: the page's has no 'wasm-unsafe-eval',
  // the worker file's has it. (Which path gets which is nginx's matter, checked by the Chromium test.)
  const conf = fs.readFileSync(path.join(CSP_DIR, 'nginx.conf'), 'utf8');
  const policies = [...conf.matchAll(/add_header\s+Content-Security-Policy\s+"([^"]+)"\s+always;/g)].map((m) => m[1]);
  assert.equal(policies.length, 2, `nginx.conf sends two policies: ${JSON.stringify(policies)}`);
  const worker = policies.find((p) => p.includes("'wasm-unsafe-eval'"));
  const page = policies.find((p) => p !== worker);
  assert.ok(worker && page, 'one page policy, one worker policy');
  assertOutcome(await probe(srv, serveCase(srv, { page, worker })), 'ready', 'nginx recipe');
  assertOutcome(await probe(srv, serveCase(srv, { page, worker: page })), 'refused', 'nginx page policy on the worker too');
});

// csp/electron-main.cjs and csp/electron-protocol.cjs are not run here: Electron is Chromium, whatever Firefox does.

test('Firefox: csp/express-helmet.mjs, run by helmet on a real server, gives a working worker', async () => {
  const recipe = await import(path.join(CSP_DIR, 'express-helmet.mjs'));
  const s = await startServer();
  extraServers.push(s);
  s.use(recipe.ringflateCsp);
  s.file('/index.html', PAGE_HTML);
  s.file('/app.js', PROBE);
  s.file('/ringflate-worker.js', WORKER_FILE);
  const report = await probe(s, '/');
  assertOutcome(report, 'ready', 'express + helmet recipe');
  const sent = (p) => s.log.find((l) => l.path === p)?.csp;
  assert.match(sent('/index.html'), /script-src 'self'(;|$)/, 'helmet sent the page policy');
  assert.ok(!sent('/index.html').includes('wasm-unsafe-eval'), 'the page policy has no wasm-unsafe-eval');
  assert.match(sent('/ringflate-worker.js'), /script-src 'self' 'wasm-unsafe-eval'/, 'helmet sent the worker policy');
});

test('Firefox: csp/meta-tag.html as the page, the <meta> policy is enforced and the worker works', async () => {
  const base = serveCase(srv, { page: null, worker: null, pageFile: path.join(CSP_DIR, 'meta-tag.html') });
  const report = await probe(srv, base, '?blob=1');
  assert.equal(report.blobRefused, true, 'the <meta> CSP is in force: a blob: worker is refused');
  // Like Chromium, Firefox reports a blob: URL as just "blob" in the violation event.
  assert.ok(report.violations.some((v) => v.effective === 'worker-src' && v.blocked === 'blob'), `worker-src violation for blob: ${JSON.stringify(report.violations)}`);
  assertFirefoxBlockLogged(report, 'blob:');
  report.violations = report.violations.filter((v) => v.blocked !== 'blob');
  assertOutcome(report, 'ready', 'meta-tag recipe');
});

test('Firefox: CSP violation reports, from the worker file\'s policy (WebAssembly) and from the page\'s (worker-src)', async () => {
  const reports = [];
  const s = await startServer();
  extraServers.push(s);
  s.use((req, res, next) => {
    if (req.method !== 'POST' || !req.url.startsWith('/csp-report/')) return next();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      reports.push({ path: req.url, type: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(204).end();
    });
  });
  const page = "default-src 'self'; script-src 'self'; worker-src 'self'";
  const refusedBase = serveCase(s, { page, worker: "default-src 'self'; script-src 'self'; report-uri /csp-report/worker" });
  assertOutcome(await probe(s, refusedBase), 'refused', 'worker policy with report-uri');
  const blockedBase = serveCase(s, { page: "default-src 'self'; worker-src 'none'; report-uri /csp-report/page", worker: null });
  const blocked = await probe(s, blockedBase);
  assertOutcome(blocked, 'blocked', 'page policy with report-uri');
  for (let i = 0; i < 50 && reports.length < 2; i++) await sleep(100);

  const byPath = (p) => reports.filter((r) => r.path === p).map((r) => r.body['csp-report']);
  const [w, ...moreW] = byPath('/csp-report/worker');
  const [p, ...moreP] = byPath('/csp-report/page');
  assert.ok(w && p, `one report from each policy: ${JSON.stringify(reports)}`);
  assert.deepEqual([moreW, moreP], [[], []], 'one report each');
  for (const r of reports) assert.equal(r.type, 'application/csp-report');
  // The worker file's own policy reports the WebAssembly refusal, with the worker as the document.
  assert.equal(w['blocked-uri'], 'wasm-eval');
  assert.equal(w['effective-directive'], 'script-src');
  assert.equal(w['document-uri'], `${s.origin}${refusedBase}ringflate-worker.js`);
  assert.equal(w['source-file'], `${s.origin}${refusedBase}ringflate-worker.js`);
  // Firefox writes the report-uri into original-policy as an absolute URL (Chromium keeps it as written).
  assert.equal(w['original-policy'], `default-src 'self'; script-src 'self'; report-uri ${s.origin}/csp-report/worker`);
  // The page's policy reports the blocked worker. Firefox does not say which script called new Worker()
  // (no source-file or line-number; Chromium names app.js and the line).
  assert.equal(p['blocked-uri'], `${s.origin}${blockedBase}ringflate-worker.js`);
  assert.equal(p['effective-directive'], 'worker-src');
  assert.equal(p['document-uri'], `${s.origin}${blockedBase}index.html`);
  assert.equal(p['source-file'], undefined, 'Firefox names no source file for a blocked worker');
  assert.equal(p['line-number'], undefined);
});
