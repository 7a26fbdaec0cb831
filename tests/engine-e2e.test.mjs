// Engine mode end to end: a real page recorded by real rrweb, the ringflate host script posting batches, the
// worker sampling, buffering, compressing and building Sentry envelopes, and the local ingest endpoint parsing
// every envelope strictly (tests/lib/envelope.mjs). The recordings received are replayed in rrweb's Replayer.
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
const NO_WASM_WORKER = '/w-no-wasm/ringflate-worker.js';
const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'";
const VIEWER_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:";
const TIMEOUT = 20000;

let srv;
let browser;
let tmp;

async function bundle(entry, out) {
  await build({ entryPoints: [entry], bundle: true, format: 'iife', target: 'es2020', outfile: out, logLevel: 'error' });
  return out;
}

before(async () => {
  const workerFile = path.join(ROOT, 'dist/ringflate-worker.js');
  assert.ok(fs.existsSync(workerFile), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-engine-'));
  const pages = path.join(ROOT, 'tests/pages');
  srv = await startServer({ sentry: { expectCompressed: true } });
  srv.file(WORKER, workerFile, { 'Content-Security-Policy': "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" });
  // The same file under a CSP that forbids WebAssembly: the engine cannot start.
  srv.file(NO_WASM_WORKER, workerFile, { 'Content-Security-Policy': "default-src 'none'; script-src 'self'" });
  srv.file('/app/engine.html', path.join(pages, 'engine.html'), { 'Content-Security-Policy': PAGE_CSP });
  srv.file('/app/csp-watch.js', path.join(pages, 'csp-watch.js'));
  srv.file('/app/engine-page.js', await bundle(path.join(pages, 'engine-page.js'), path.join(tmp, 'engine-page.js')));
  srv.file('/view/replayer.html', path.join(pages, 'replayer.html'), { 'Content-Security-Policy': VIEWER_CSP });
  srv.file('/view/replayer.js', await bundle(path.join(pages, 'replayer-page.js'), path.join(tmp, 'replayer.js')));
  srv.file('/view/rrweb.css', path.join(ROOT, 'node_modules/rrweb/dist/style.css'));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function openEngine(params, page) {
  page = page || (await browser.newPage());
  const seen = watchPage(page);
  const q = new URLSearchParams({ dsn: srv.dsn, worker: WORKER, minMs: '0', ...params });
  await page.goto(`${srv.origin}/app/engine.html?${q}`);
  const { replayId, mode } = await page
    .waitForFunction(() => window.__engine.replayId && { replayId: window.__engine.replayId, mode: window.__engine.mode }, null, { timeout: TIMEOUT })
    .then((h) => h.jsonValue())
    .catch((e) => {
      throw new Error(`engine did not start: ${e.message}\n${seen.describe()}`);
    });
  assert.match(replayId, /^[0-9a-f]{32}$/);
  return { page, seen, replayId, mode };
}

/** Segments of a replay as received, with the time the endpoint got them. */
const segmentsOf = (replayId) =>
  srv.envelopes.filter((e) => e.replay && e.replay.event.replay_id === replayId).map((e) => ({ ...e.replay, receivedAt: e.receivedAt }));
const inputs = (events) => events.filter((e) => e.type === 3 && e.data?.source === 5).map((e) => e.data.text);
const hasInput = (segs, text) => segs.some((s) => inputs(s.events).some((t) => typeof t === 'string' && t.includes(text)));

async function typeInto(page, text, delay = 20) {
  await page.fill('#question', '');
  await page.click('#question');
  await page.keyboard.type(text, { delay });
  await page.click('#send');
}

function assertClean(seen) {
  assert.deepEqual(srv.failures, [], 'every envelope parses strictly');
  assert.deepEqual(seen.errors, [], 'no page errors');
}

async function replayShows(events) {
  const page = await browser.newPage();
  await page.goto(`${srv.origin}/view/replayer.html`);
  await page.waitForFunction(() => typeof window.__replay === 'function');
  const shown = await page.evaluate((ev) => window.__replay(ev), events);
  await page.close();
  return shown;
}

test('session mode: segment cadence follows the debounce and max-wait rules, and the recording replays', async (t) => {
  const fetchesBefore = srv.count(WORKER);
  const { page, seen, replayId, mode } = await openEngine({ session: '1' });
  assert.equal(mode, 'session');
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0');

  // Continuous typing for ~8 s: the max-wait rule must close a segment while events keep coming.
  const typingStart = Date.now();
  await typeInto(page, 'steady typing that goes on and on', 240);
  const typingEnd = Date.now();
  assert.ok(typingEnd - typingStart > 7000, 'typing lasted long enough to exercise max-wait');
  const during = segmentsOf(replayId).filter((s) => s.segmentId > 0 && s.receivedAt < typingEnd);
  assert.ok(during.length >= 1, 'a segment was sent while events kept coming (max wait 5.5 s)');
  for (const s of during) {
    const span = s.events[s.events.length - 1].timestamp - s.events[0].timestamp;
    assert.ok(span <= 5500 + 1000, `segment ${s.segmentId} spans ${span} ms of events (max wait 5.5 s)`);
  }

  // Then silence until the end of the typing has been sent.
  await srv.waitFor(() => hasInput(segmentsOf(replayId), 'goes on and on'), TIMEOUT, 'the segment with the end of the typing');
  // The click's DOM change comes in the same or the next segment (debounced): wait for it before replaying.
  await srv.waitFor(
    () => segmentsOf(replayId).some((s) => s.text.includes('Question sent: steady typing that goes on and on')),
    TIMEOUT,
    'the segment with the DOM change after the click',
  );
  await page.waitForTimeout(500);
  // No segment after the first checkout leaves early: each waits for 5 s of quiet after its last event
  // or 5.5 s after its first, whichever comes first (the worker sees events a few ms after their timestamps).
  let quiet = 0;
  for (const s of segmentsOf(replayId).slice(1)) {
    const first = s.events[0].timestamp;
    const lastTs = s.events[s.events.length - 1].timestamp;
    const due = Math.min(lastTs + 5000, first + 5500);
    assert.ok(s.receivedAt >= due - 250, `segment ${s.segmentId} sent ${due - s.receivedAt} ms before the debounce/max-wait allowed`);
    quiet = s.receivedAt - lastTs;
  }
  const segs = segmentsOf(replayId);
  assert.deepEqual(segs.map((s) => s.segmentId), segs.map((_, i) => i), 'segment ids consecutive from 0');
  for (const s of segs) assert.equal(s.replayType, 'session');
  assert.equal(segs[0].events[0].type, 4, 'segment 0 starts with Meta');
  assert.equal(segs[0].events[1].type, 2, 'then a FullSnapshot');
  const violations = await page.evaluate(() => window.__cspViolations);
  assert.deepEqual(violations, [], 'no CSP violation on the page');
  assert.equal(srv.count(WORKER) - fetchesBefore, 1, 'the worker file is fetched exactly once for the page');
  assert.ok(!seen.console.some((m) => /ringflate: the worker file is version/.test(m.text)), 'the worker file and the host script are the same version: no warning');
  await page.close();
  assertClean(seen);

  const shown = await replayShows(segs.flatMap((s) => s.events));
  assert.ok(shown.text.includes('Order 1042 ships on Tuesday from the Rotterdam warehouse.'), 'the replay shows the page text');
  assert.ok(shown.text.includes('Question sent: steady typing that goes on and on'), 'the replay shows the DOM change');
  assert.equal(shown.input, 'steady typing that goes on and on', 'the replay shows the typed input');
  t.diagnostic(`${segs.length} segments; quiet gap before the last: ${quiet} ms`);
});

test('buffer mode: an error sends at least bufferMs of history from a checkout, then session segments follow', async (t) => {
  const bufferMs = 4000;
  const { page, seen, replayId, mode } = await openEngine({ session: '0', error: '1', bufferMs: String(bufferMs) });
  assert.equal(mode, 'buffer');
  const t0 = Date.now();
  await typeInto(page, 'typed long before the error');
  // Stay active past two buffer windows so the worker asks for checkouts and drops old generations.
  for (let i = 0; i < 9; i++) {
    await page.mouse.click(50 + i * 10, 300);
    await page.waitForTimeout(1000);
  }
  assert.equal(segmentsOf(replayId).length, 0, 'nothing is sent before the error');
  const checkouts = await page.evaluate(() => window.__engine.checkouts);
  assert.ok(checkouts >= 1, `the worker asked the host for checkouts (${checkouts})`);
  const eventId = 'c0ffee00c0ffee00c0ffee00c0ffee00';
  const errorAt = Date.now();
  const sampled = await page.evaluate((id) => window.__engine.replay.captureError(new Error('payment declined'), { eventId: id }), eventId);
  assert.equal(sampled, true, 'errorSampleRate 1: the error is sampled synchronously');
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0 after the error');
  const seg0 = segmentsOf(replayId)[0];
  assert.equal(seg0.segmentId, 0);
  assert.equal(seg0.replayType, 'buffer');
  assert.equal(seg0.events[0].type, 4, 'segment 0 starts at a checkout: Meta');
  assert.equal(seg0.events[1].type, 2, '… then FullSnapshot');
  const covered = errorAt - seg0.events[0].timestamp;
  assert.ok(covered >= bufferMs, `segment 0 covers ${covered} ms ≥ bufferMs before the error`);
  // Checkouts come every bufferMs, so the kept history is under two windows (plus the checkout's latency):
  // what was recorded before that was dropped.
  assert.ok(covered < 2 * bufferMs + 1500, `segment 0 covers ${covered} ms: older generations were dropped`);
  assert.ok(errorAt - t0 > covered, 'the page recorded longer than segment 0 covers');
  assert.ok(seg0.event.error_ids.includes(eventId), 'segment 0 lists the error id');

  await typeInto(page, 'after the error');
  await srv.waitFor(() => hasInput(segmentsOf(replayId), 'after the error'), TIMEOUT, 'a later segment with the new input');
  const segs = segmentsOf(replayId);
  assert.deepEqual(segs.map((s) => s.segmentId), segs.map((_, i) => i), 'segment ids consecutive');
  for (const s of segs) assert.equal(s.replayType, 'buffer', 'replay_type stays "buffer"');
  await page.close();
  assertClean(seen);
  const shown = await replayShows(segs.flatMap((s) => s.events));
  assert.equal(shown.input, 'after the error');
  t.diagnostic(`segment 0: ${seg0.events.length} events covering ${covered} ms; ${checkouts} checkouts asked`);
});

test('a reload continues the same replay with the next segment id', async () => {
  const { page, seen, replayId } = await openEngine({ session: '1' });
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0 before the reload');
  const reloadedAt = Date.now();
  await page.reload();
  const again = await page
    .waitForFunction(() => window.__engine.replayId, null, { timeout: TIMEOUT })
    .then((h) => h.jsonValue());
  assert.equal(again, replayId, 'the reloaded page continues the replay');
  await typeInto(page, 'after the reload');
  await srv.waitFor(() => hasInput(segmentsOf(replayId), 'after the reload'), TIMEOUT, 'a segment after the reload');
  const segs = segmentsOf(replayId);
  assert.deepEqual(segs.map((s) => s.segmentId), segs.map((_, i) => i), 'segment ids continue without gap or repeat');
  const firstAfter = segs.findIndex((s) => s.receivedAt > reloadedAt);
  assert.ok(firstAfter > 0, 'segments were sent before and after the reload');
  assert.ok(segs.slice(firstAfter).some((s) => s.events.some((e) => e.type === 4)), 'the reloaded page starts with a checkout in the continued replay');
  await page.close();
  assertClean(seen);
});

test('leaving the page delivers the open segment without waiting for the worker', async () => {
  const { page, seen, replayId } = await openEngine({ session: '1' });
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0');
  await typeInto(page, 'last words before leaving');
  // The worker streams the open segment at most once a second; then the user leaves.
  await page.waitForTimeout(1500);
  await page.goto('about:blank');
  await srv.waitFor(() => hasInput(segmentsOf(replayId), 'last words before leaving'), TIMEOUT, 'the open segment, sent on pagehide');
  const segs = segmentsOf(replayId);
  const ids = segs.map((s) => s.segmentId);
  assert.equal(new Set(ids).size, ids.length, `no segment sent twice (${ids})`);
  assert.deepEqual(ids, ids.map((_, i) => i), 'segment ids consecutive');
  await page.close();
  assertClean(seen);
});

test('startReplay without a destination fails at once with a clear error', async () => {
  const { page, seen } = await openEngine({ session: '1' });
  const message = await page.evaluate(() => {
    try {
      window.__engine.startReplay({ workerUrl: '/w/ringflate-worker.js', sessionSampleRate: 1 });
      return null;
    } catch (e) {
      return e.message;
    }
  });
  assert.match(String(message), /needs workerUrl and one of dsn, tunnel, endpoint or transport/);
  await page.close();
  assertClean(seen);
});

test('a worker whose engine cannot start: onError once with its reason, ready settles with mode off', async () => {
  const page = await browser.newPage();
  const seen = watchPage(page);
  const q = new URLSearchParams({ dsn: srv.dsn, worker: NO_WASM_WORKER, session: '1' });
  await page.goto(`${srv.origin}/app/engine.html?${q}`);
  const ready = await page
    .waitForFunction(() => window.__engine.ready, null, { timeout: TIMEOUT })
    .then((h) => h.jsonValue())
    .catch((e) => {
      throw new Error(`ready did not settle: ${e.message}\n${seen.describe()}`);
    });
  assert.equal(ready.mode, 'off');
  assert.equal(ready.replayId, undefined);
  assert.match(ready.error, /^ringflate: the Content Security Policy sent with the worker file forbids compiling WebAssembly/);
  assert.ok(!ready.error.startsWith('ringflate: ringflate:'), 'prefixed once');
  // The user goes on using the page; nothing more is reported.
  await typeInto(page, 'typed while off');
  await page.waitForTimeout(500);
  const errors = await page.evaluate(() => window.__engine.errors);
  assert.deepEqual(errors, [ready.error], 'onError once, with the same text');
  await page.close();
  assertClean(seen);
});
