// Engine mode end to end in Firefox: the same engine page as the Chromium test (tests/engine-e2e.test.mjs), real
// rrweb and the ringflate host script, the worker sampling, buffering, compressing and building Sentry envelopes,
// the same strict ingest endpoint, and the recordings received replayed in rrweb's Replayer, all in Debian's
// Firefox ESR over WebDriver BiDi (tests/lib/firefox.mjs). Each scenario checks that what the user did arrives,
// inflated, and replays; the session scenario also times the segment cadence, which runs on the worker's timers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { startServer } from './lib/server.mjs';
import { watchPage } from './lib/browser.mjs';
import { launchFirefox, sleep } from './lib/firefox.mjs';
import { ROOT } from './lib/bundle.mjs';
import { segmentsOf as segmentsOfReplay, hasInput, assertConsecutive, assertCheckout } from './lib/replays.mjs';

const WORKER = '/w/ringflate-worker.js';
const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'";
const VIEWER_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:";
const TIMEOUT = 20000;

let srv;
let ff;
let tmp;

async function bundle(entry, out) {
  await build({ entryPoints: [entry], bundle: true, format: 'iife', target: 'es2020', outfile: out, logLevel: 'error' });
  return out;
}

before(async () => {
  const workerFile = path.join(ROOT, 'dist/ringflate-worker.js');
  assert.ok(fs.existsSync(workerFile), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-ff-engine-'));
  const pages = path.join(ROOT, 'tests/pages');
  srv = await startServer({ sentry: { expectCompressed: true } });
  srv.file(WORKER, workerFile, { 'Content-Security-Policy': "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" });
  srv.file('/app/engine.html', path.join(pages, 'engine.html'), { 'Content-Security-Policy': PAGE_CSP });
  srv.file('/app/csp-watch.js', path.join(pages, 'csp-watch.js'));
  srv.file('/app/engine-page.js', await bundle(path.join(pages, 'engine-page.js'), path.join(tmp, 'engine-page.js')));
  srv.file('/view/replayer.html', path.join(pages, 'replayer.html'), { 'Content-Security-Policy': VIEWER_CSP });
  srv.file('/view/replayer.js', await bundle(path.join(pages, 'replayer-page.js'), path.join(tmp, 'replayer.js')));
  srv.file('/view/rrweb.css', path.join(ROOT, 'node_modules/rrweb/dist/style.css'));
  ff = await launchFirefox();
});

after(async () => {
  await ff?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const segmentsOf = (replayId) => segmentsOfReplay(srv, replayId);

async function openEngine(params) {
  const page = await ff.newPage();
  const seen = watchPage(page);
  const q = new URLSearchParams({ dsn: srv.dsn, worker: WORKER, minMs: '0', ...params });
  await page.goto(`${srv.origin}/app/engine.html?${q}`);
  const { replayId, mode } = await waitEngine(page, seen);
  return { page, seen, replayId, mode };
}

async function waitEngine(page, seen) {
  const got = await page
    .waitForFunction(() => window.__engine.replayId && { replayId: window.__engine.replayId, mode: window.__engine.mode }, { timeout: TIMEOUT })
    .then((h) => h.jsonValue())
    .catch((e) => {
      throw new Error(`engine did not start: ${e.message}\n${seen.describe()}`);
    });
  assert.match(got.replayId, /^[0-9a-f]{32}$/);
  return got;
}

async function typeInto(page, text, delay = 20) {
  await page.evaluate(() => { document.getElementById('question').value = ''; });
  await page.click('#question');
  await page.keyboard.type(text, { delay });
  await page.click('#send');
}

async function assertClean(page, seen) {
  assert.deepEqual(srv.failures, [], 'every envelope parses strictly');
  assert.deepEqual(seen.errors, [], 'no page errors');
  if (page) {
    const state = await page.evaluate(() => ({ violations: window.__cspViolations, errors: window.__engine.errors }));
    assert.deepEqual(state.violations, [], 'no CSP violation on the page');
    assert.deepEqual(state.errors, [], 'the host reported no error');
  }
}

/** Plays `events` in rrweb's Replayer in a Firefox tab; returns what the replayed page shows. */
async function replayShows(events) {
  const page = await ff.newPage();
  await page.goto(`${srv.origin}/view/replayer.html`);
  await page.waitForFunction(() => typeof window.__replay === 'function', { timeout: TIMEOUT });
  const shown = await page.evaluate((ev) => window.__replay(ev), events);
  await page.close();
  return shown;
}

test('Firefox: session mode, the worker\'s timers keep the segment cadence, and the recording replays in Firefox', async (t) => {
  const fetchesBefore = srv.count(WORKER);
  const { page, seen, replayId, mode } = await openEngine({ session: '1' });
  assert.equal(mode, 'session');
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0');

  // Continuous typing for ~8 s: the max-wait rule (5.5 s) must close a segment while events keep coming,
  // which only the worker's own timers in Firefox can do.
  const typed = 'typed in Firefox, kept in its worker';
  const typingStart = Date.now();
  await typeInto(page, typed, 220);
  const typingEnd = Date.now();
  assert.ok(typingEnd - typingStart > 7000, 'typing lasted long enough to exercise max-wait');
  const during = segmentsOf(replayId).filter((s) => s.segmentId > 0 && s.receivedAt < typingEnd);
  assert.ok(during.length >= 1, 'a segment was sent while events kept coming (max wait 5.5 s)');
  for (const s of during) {
    const span = s.events[s.events.length - 1].timestamp - s.events[0].timestamp;
    assert.ok(span <= 5500 + 1000, `segment ${s.segmentId} spans ${span} ms of events (max wait 5.5 s)`);
  }
  await srv.waitFor(() => hasInput(segmentsOf(replayId), typed), TIMEOUT, 'the segment with the end of the typing');
  await srv.waitFor(() => segmentsOf(replayId).some((s) => s.text.includes(`Question sent: ${typed}`)), TIMEOUT, 'the DOM change after the click');
  await assertClean(page, seen);
  assert.equal(srv.count(WORKER) - fetchesBefore, 1, 'the worker file is fetched exactly once for the page');
  await page.close();

  const segs = segmentsOf(replayId);
  assertConsecutive(segs);
  for (const s of segs) {
    assert.equal(s.replayType, 'session');
    assert.equal(s.compressed, true, `segment ${s.segmentId} is zlib and inflates fully`);
  }
  // No segment after the first checkout leaves early: 5 s of quiet after its last event or 5.5 s after its
  // first, whichever comes first.
  for (const s of segs.slice(1)) {
    const due = Math.min(s.events[s.events.length - 1].timestamp + 5000, s.events[0].timestamp + 5500);
    assert.ok(s.receivedAt >= due - 250, `segment ${s.segmentId} sent ${due - s.receivedAt} ms before the debounce/max-wait allowed`);
  }
  assert.equal(segs[0].events[0].type, 4, 'segment 0 starts with Meta');
  assert.equal(segs[0].events[1].type, 2, 'then a FullSnapshot');
  assertCheckout(segs[0], ['Order 1042 ships on Tuesday from the Rotterdam warehouse.']);
  const shown = await replayShows(segs.flatMap((s) => s.events));
  assert.ok(shown.text.includes('Order 1042 ships on Tuesday from the Rotterdam warehouse.'), 'the replay shows the page text');
  assert.ok(shown.text.includes(`Question sent: ${typed}`), 'the replay shows the DOM change');
  assert.equal(shown.input, typed, 'the replay shows the typed input');
  t.diagnostic(`${segs.length} segments, ${segs.reduce((n, s) => n + s.events.length, 0)} events; ${during.length} closed by max-wait during the typing`);
});

test('Firefox: buffer mode, an error sends bufferMs of history from a checkout, then segments follow', async (t) => {
  const bufferMs = 2500;
  const { page, seen, replayId, mode } = await openEngine({ session: '0', error: '1', bufferMs: String(bufferMs) });
  assert.equal(mode, 'buffer');
  const t0 = Date.now();
  await typeInto(page, 'typed long before the error');
  // Active past two buffer windows, so the worker asks for checkouts and drops old generations.
  for (let i = 0; i < 6; i++) {
    await page.mouse.click(50 + i * 10, 300);
    await sleep(1000);
  }
  assert.equal(segmentsOf(replayId).length, 0, 'nothing is sent before the error');
  const checkouts = await page.evaluate(() => window.__engine.checkouts);
  assert.ok(checkouts >= 1, `the worker asked the host for checkouts (${checkouts})`);
  const eventId = 'f00dfeedf00dfeedf00dfeedf00dfeed';
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
  assert.ok(covered < 2 * bufferMs + 1500, `segment 0 covers ${covered} ms: older generations were dropped`);
  assert.ok(errorAt - t0 > covered, 'the page recorded longer than segment 0 covers');
  assert.ok(seg0.event.error_ids.includes(eventId), 'segment 0 lists the error id');

  await typeInto(page, 'after the error');
  await srv.waitFor(() => hasInput(segmentsOf(replayId), 'after the error'), TIMEOUT, 'a later segment with the new input');
  await assertClean(page, seen);
  await page.close();
  const segs = segmentsOf(replayId);
  assertConsecutive(segs);
  for (const s of segs) assert.equal(s.replayType, 'buffer', 'replay_type stays "buffer"');
  const shown = await replayShows(segs.flatMap((s) => s.events));
  assert.equal(shown.input, 'after the error');
  t.diagnostic(`segment 0: ${seg0.events.length} events covering ${covered} ms; ${checkouts} checkouts asked`);
});

test('Firefox: a reload continues the same replay with the next segment id', async () => {
  const { page, seen, replayId } = await openEngine({ session: '1' });
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0 before the reload');
  const reloadedAt = Date.now();
  await page.reload();
  const again = await waitEngine(page, seen);
  assert.equal(again.replayId, replayId, 'the reloaded page continues the replay');
  await typeInto(page, 'after the reload');
  await srv.waitFor(() => hasInput(segmentsOf(replayId), 'after the reload'), TIMEOUT, 'a segment after the reload');
  await assertClean(page, seen);
  await page.close();
  const segs = segmentsOf(replayId);
  assertConsecutive(segs);
  const firstAfter = segs.findIndex((s) => s.receivedAt > reloadedAt);
  assert.ok(firstAfter > 0, 'segments were sent before and after the reload');
  assert.ok(segs.slice(firstAfter).some((s) => s.events.some((e) => e.type === 4)), 'the reloaded page starts with a checkout in the continued replay');
});

test('Firefox: leaving the page delivers the open segment (sendBeacon on pagehide) without waiting for the worker', async (t) => {
  const { page, seen, replayId } = await openEngine({ session: '1' });
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0');
  const typed = 'last words before leaving';
  await typeInto(page, typed);
  // The worker streams the open segment at most once a second; then the user leaves, well before the
  // segment's 5 s of quiet are over.
  await sleep(1500);
  const leftAt = Date.now();
  await page.goto('about:blank');
  await srv.waitFor(() => hasInput(segmentsOf(replayId), typed), TIMEOUT, 'the open segment, sent on pagehide');
  const segs = segmentsOf(replayId);
  const last = segs.find((s) => hasInput([s], typed));
  assert.ok(last.receivedAt - leftAt < 3000, `the open segment arrived ${last.receivedAt - leftAt} ms after leaving, not after the debounce`);
  assert.equal(last.compressed, true, 'the beaconed segment is a complete zlib stream');
  const ids = segs.map((s) => s.segmentId);
  assert.equal(new Set(ids).size, ids.length, `no segment sent twice (${ids})`);
  assertConsecutive(segs);
  await assertClean(null, seen);
  await page.close();
  t.diagnostic(`the open segment arrived ${last.receivedAt - leftAt} ms after leaving`);
});
