// The CSP matrix as data and as checks, for any browser: the rows of the table in csp/README.md, the files a
// case serves (tests/pages/matrix.html + matrix-probe.js, the worker with the row's CSP), and what each outcome
// means in the probe's report. A test opens `${origin}${base}index.html` in its browser, reads
// `window.__probe` and `window.__probeEvents`, and passes the report to assertOutcome.
//
//   for (const row of readmeMatrix()) { const base = serveCase(srv, row); ...; assertOutcome(report, row.outcome, row.name) }
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { inflateStrict } from './envelope.mjs';
import { ROOT } from './bundle.mjs';

export const CSP_DIR = path.join(ROOT, 'csp');
export const WORKER_FILE = path.join(ROOT, 'dist/ringflate-worker.js');
export const PAGE_HTML = path.join(ROOT, 'tests/pages/matrix.html');
export const PROBE = path.join(ROOT, 'tests/pages/matrix-probe.js');

/** Rows of the table between <!-- matrix:begin --> and <!-- matrix:end --> in csp/README.md. */
export function readmeMatrix() {
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

let caseNo = 0;
/** Serves a probe page with the `page` CSP and the worker with the `worker` CSP under a fresh path; returns it. */
export function serveCase(server, { page, worker, pageFile = PAGE_HTML }) {
  const base = `/m/${++caseNo}/`;
  server.file(`${base}index.html`, pageFile, page ? { 'Content-Security-Policy': page } : {});
  server.file(`${base}app.js`, PROBE);
  server.file(`${base}ringflate-worker.js`, WORKER_FILE, worker ? { 'Content-Security-Policy': worker } : {});
  return base;
}

/** Checks a probe report against `outcome` (ready / refused / blocked); `report.console` adds context. */
export function assertOutcome(report, outcome, what) {
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
