// Persistence across page loads in the worker (IndexedDB), in Chromium with real rrweb, the ringflate host script
// and worker, and the local ingest (strict envelope parsing): a page whose sends are all refused, left and loaded
// again, delivers its unsent segments first, in order, exactly once; three page loads in buffer mode then an error
// send a segment 0 holding history from all three; a worker whose IndexedDB throws still records (memory only,
// one warning).
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
// The same worker file, in a scope whose IndexedDB throws (as in a browser that refuses storage).
const NO_IDB_WORKER = '/w-no-idb/ringflate-worker.js';
const WORKER_CSP = { 'Content-Security-Policy': "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" };
const TIMEOUT = 30000;

let srv;
let browser;
let tmp;

async function bundle(name) {
  const out = path.join(tmp, name);
  await build({ entryPoints: [path.join(ROOT, 'tests/pages', name)], bundle: true, format: 'iife', target: 'es2020', outfile: out, logLevel: 'error' });
  return out;
}

before(async () => {
  const workerFile = path.join(ROOT, 'dist/ringflate-worker.js');
  assert.ok(fs.existsSync(workerFile), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-persist-'));
  srv = await startServer({ sentry: { expectCompressed: true } });
  srv.file(WORKER, workerFile, WORKER_CSP);
  const refuse = "Object.defineProperty(self,'indexedDB',{get(){throw new DOMException('The user denied permission to access the database.','SecurityError')}});\n";
  srv.body(NO_IDB_WORKER, refuse + fs.readFileSync(workerFile, 'utf8'), WORKER_CSP);
  srv.file('/app/faults.html', path.join(ROOT, 'tests/pages/faults.html'));
  srv.file('/app/faults-page.js', await bundle('faults-page.js'));
  srv.file('/app/engine.html', path.join(ROOT, 'tests/pages/engine.html'));
  srv.file('/app/csp-watch.js', path.join(ROOT, 'tests/pages/csp-watch.js'));
  srv.file('/app/engine-page.js', await bundle('engine-page.js'));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const segmentsOf = (replayId) =>
  srv.envelopes.filter((e) => e.replay && e.replay.event.replay_id === replayId).map((e) => ({ ...e.replay, receivedAt: e.receivedAt }));
const texts = (segs) => segs.flatMap((s) => s.events.map((e) => JSON.stringify(e)));
const typed = (segs) => segs.flatMap((s) => s.events).filter((e) => e.type === 3 && e.data.source === 5).map((e) => e.data.text);

/** Opens the faults page (session mode, every event it hands to the host kept in __faults.recorded). */
async function openFaults(page, worker = WORKER) {
  const q = new URLSearchParams({ dsn: srv.dsn, worker });
  await page.goto(`${srv.origin}/app/faults.html?${q}`);
  return page.waitForFunction(() => window.__faults.replayId, null, { timeout: TIMEOUT }).then((h) => h.jsonValue());
}

test('sends refused, the page left and loaded again: its unsent segments arrive first, in order, exactly once', async (t) => {
  const page = await browser.newPage();
  const seen = watchPage(page);
  let refused = 0;
  await page.route('**/api/*/envelope/**', (route) => {
    refused++;
    return route.abort('connectionrefused');
  });
  const replayId = await openFaults(page);
  await page.click('#question');
  await page.keyboard.type('first page, never sent', { delay: 30 });
  // Quiet for 5 s: the segment is finished and handed to the host, whose sends are refused.
  await page.waitForTimeout(6000);
  await page.click('#question');
  await page.keyboard.type(' and more', { delay: 30 });
  await page.waitForTimeout(6000);
  await page.keyboard.type(' left open', { delay: 30 });
  await page.waitForTimeout(500);
  const first = await page.evaluate(() => window.__faults.recorded);
  assert.ok(refused >= 2, `the ingest was asked and refused (${refused} requests)`);
  await page.goto('about:blank');
  await page.unroute('**/api/*/envelope/**');
  // The open segment may leave on pagehide (a keepalive request the route does not see); nothing else did.
  await page.waitForTimeout(300);
  const onUnload = segmentsOf(replayId);
  assert.ok(onUnload.length <= 1, `at most the unload body reached the ingest (${onUnload.length})`);
  const loadAt = Date.now();
  const again = await openFaults(page);
  assert.equal(again, replayId, 'the same replay continues in the same tab');
  await page.click('#question');
  await page.keyboard.type(' second page', { delay: 30 });
  await page.evaluate(() => window.__faults.replay.flush());
  const second = await page.evaluate(() => window.__faults.recorded);
  const want = [...first, ...second];
  await srv.waitFor(() => {
    const got = new Set(texts(segmentsOf(replayId)));
    return want.every((x) => got.has(x));
  }, TIMEOUT, 'every event of both pages');
  await page.waitForTimeout(1000);
  const segs = segmentsOf(replayId);
  const got = texts(segs);
  assert.deepEqual(got.filter((x, i) => got.indexOf(x) !== i).map((x) => x.slice(0, 100)), [], 'no event twice');
  assert.deepEqual(want.filter((x) => !got.includes(x)).map((x) => x.slice(0, 100)), [], 'every event once');
  const ids = segs.filter((s) => !onUnload.some((u) => u.segmentId === s.segmentId)).map((s) => s.segmentId);
  assert.deepEqual([...ids].sort((a, b) => a - b), ids, `segments arrive in id order (${ids})`);
  const all = segs.map((s) => s.segmentId).sort((a, b) => a - b);
  assert.deepEqual(all, all.map((_, i) => i), 'segment ids 0, 1, 2 … each once');
  // The first page's segments come first: every segment holding a first-page event precedes every segment
  // holding only second-page events.
  const firstSet = new Set(first);
  const fromFirst = segs.map((s) => s.events.some((e) => firstSet.has(JSON.stringify(e))));
  const lastOfFirst = fromFirst.lastIndexOf(true);
  assert.ok(lastOfFirst >= 1, `at least two segments of the first page were kept (${fromFirst})`);
  assert.ok(fromFirst.slice(0, lastOfFirst + 1).every(Boolean), `first-page segments first: ${fromFirst}`);
  assert.ok(segs.filter((s) => !onUnload.some((u) => u.segmentId === s.segmentId)).every((s) => s.receivedAt >= loadAt));
  const lastFirst = first.map((x) => JSON.parse(x)).filter((e) => e.type === 3 && e.data.source === 5).at(-1).data.text;
  assert.match(lastFirst, /left open/);
  assert.ok(typed(segs).includes(lastFirst), 'the last input of the first page arrived');
  assert.deepEqual(srv.failures, [], 'every envelope parses strictly');
  assert.deepEqual(seen.errors, []);
  // A third load of the tab: nothing is handed over again.
  const before = segmentsOf(replayId).length;
  await openFaults(page);
  await page.waitForTimeout(1500);
  const later = segmentsOf(replayId).slice(before);
  assert.ok(later.every((s) => s.segmentId >= before), `nothing sent twice (${later.map((s) => s.segmentId)})`);
  await page.close();
  t.diagnostic(`${refused} refused requests; ${onUnload.length} sent on unload; ${segs.length} segments, holding first-page events: ${fromFirst}`);
});

test('buffer mode across three page loads, then an error: segment 0 holds history from all three pages', async (t) => {
  const bufferMs = 6000;
  const page = await browser.newPage();
  const seen = watchPage(page);
  const q = new URLSearchParams({ dsn: srv.dsn, worker: WORKER, minMs: '0', session: '0', error: '1', bufferMs: String(bufferMs) });
  let replayId;
  const started = Date.now();
  for (const n of [1, 2, 3]) {
    await page.goto(`${srv.origin}/app/engine.html?${q}`);
    const r = await page.waitForFunction(() => window.__engine.replayId && window.__engine, null, { timeout: TIMEOUT }).then((h) => h.evaluate((e) => ({ replayId: e.replayId, mode: e.mode })));
    assert.equal(r.mode, 'buffer');
    if (replayId) assert.equal(r.replayId, replayId, 'the replay continues on the next page');
    replayId = r.replayId;
    await page.click('#question');
    await page.keyboard.type(`page ${n} typed`, { delay: 20 });
    // Another batch more than a second later, so that the worker saves its history at least once more.
    await page.waitForTimeout(1200);
    await page.mouse.move(100 + n, 200);
    await page.waitForTimeout(400);
  }
  assert.equal(segmentsOf(replayId).length, 0, 'nothing sent before the error');
  const errorAt = Date.now();
  assert.ok(errorAt - started < bufferMs + 3000, `the three pages took ${errorAt - started} ms`);
  const sampled = await page.evaluate(() => window.__engine.replay.captureError(new Error('checkout failed'), { eventId: 'feedfacefeedfacefeedfacefeedface' }));
  assert.equal(sampled, true);
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0');
  await page.waitForTimeout(500);
  const segs = segmentsOf(replayId);
  const seg0 = segs[0];
  assert.equal(seg0.segmentId, 0);
  assert.equal(seg0.replayType, 'buffer');
  assert.equal(seg0.events[0].type, 4, 'segment 0 starts at a checkout: Meta');
  const metas = seg0.events.filter((e) => e.type === 4).length;
  assert.ok(metas >= 3, `each page starts with its own checkout (${metas} Meta events)`);
  const inputs = typed(segs.filter((s) => s.replayType === 'buffer' && s.segmentId === 0));
  for (const n of [1, 2, 3]) assert.ok(inputs.some((x) => x === `page ${n} typed`), `page ${n}'s input is in segment 0: ${inputs}`);
  assert.ok(errorAt - seg0.events[0].timestamp <= bufferMs + 4000, 'within the buffer window');
  assert.ok(seg0.event.error_ids.includes('feedfacefeedfacefeedfacefeedface'));
  const all = texts(segs);
  assert.equal(new Set(all).size, all.length, 'no event twice');
  assert.deepEqual(srv.failures, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
  t.diagnostic(`segment 0: ${seg0.events.length} events, ${metas} checkouts, covering ${errorAt - seg0.events[0].timestamp} ms`);
});

test('IndexedDB that throws: memory only, one warning in the worker, the replay is recorded and sent', async () => {
  const page = await browser.newPage();
  const seen = watchPage(page);
  const warnings = [];
  page.on('console', (m) => {
    if (m.text().includes('persistent storage')) warnings.push(m.text());
  });
  const replayId = await openFaults(page, NO_IDB_WORKER);
  await page.click('#question');
  await page.keyboard.type('no storage here', { delay: 20 });
  await page.evaluate(() => window.__faults.replay.flush());
  const recorded = await page.evaluate(() => window.__faults.recorded);
  await srv.waitFor(() => {
    const got = new Set(texts(segmentsOf(replayId)));
    return recorded.every((x) => got.has(x));
  }, TIMEOUT, 'every event');
  assert.equal(warnings.length, 1, `one warning: ${warnings}`);
  assert.match(warnings[0], /^ringflate: no persistent storage \(IndexedDB\), recordings are kept in memory only: .*denied permission/);
  assert.deepEqual(srv.failures, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});
