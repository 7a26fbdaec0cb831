// End to end: a real app page under a strict CSP, the real @sentry/browser with Session Replay and
// `workerUrl` pointing at the built ringflate worker, and a local ingest endpoint that parses every envelope
// strictly (tests/lib/envelope.mjs), in each browser engine (tests/lib/engines.mjs): Debian's Chromium and
// Firefox ESR. Every segment received is inflated and its rrweb events compared with what the user did.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './lib/server.mjs';
import { watchPage } from './lib/browser.mjs';
import { ENGINES } from './lib/engines.mjs';
import { bundleSentry, ROOT } from './lib/bundle.mjs';
import { segmentsOf as segmentsOfReplay, allEvents, incremental, inputWith, assertConsecutive, assertCheckout } from './lib/replays.mjs';

const WORKER_FILE = path.join(ROOT, 'dist/ringflate-worker.js');
const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'";
const WORKERS = {
  wasm: { path: '/w/wasm/ringflate-worker.js', csp: "script-src 'self' 'wasm-unsafe-eval'" },
  plain: { path: '/w/plain/ringflate-worker.js', csp: null },
  nowasm: { path: '/w/nowasm/ringflate-worker.js', csp: "default-src 'self'; script-src 'self'" },
};
const TIMEOUT = 20000;

let srv;
let tmp;

before(async () => {
  assert.ok(fs.existsSync(WORKER_FILE), `${WORKER_FILE} is missing: run node worker/build.mjs first`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-e2e-'));
  const sentryJs = await bundleSentry(tmp);
  srv = await startServer({ sentry: { tunnel: '/tunnel' } });
  const pages = path.join(ROOT, 'tests/pages');
  srv.file('/app/index.html', path.join(pages, 'app.html'), { 'Content-Security-Policy': PAGE_CSP });
  for (const f of ['app.js', 'csp-watch.js', 'worker-probe.js']) srv.file(`/app/${f}`, path.join(pages, f));
  srv.file('/app/sentry.js', sentryJs);
  for (const w of Object.values(WORKERS)) srv.file(w.path, WORKER_FILE, w.csp ? { 'Content-Security-Policy': w.csp } : {});
});

after(async () => {
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Opens the app in a new tab with Sentry in `mode`, using the worker `w`; returns { page, seen, replayId }. */
async function openApp(engine, browser, mode, w, extra = {}) {
  const page = await browser.newPage();
  const seen = watchPage(page);
  const q = new URLSearchParams({ dsn: srv.dsn, worker: w.path, mode, ...extra });
  await page.goto(`${srv.origin}/app/index.html?${q}`);
  await engine.waitFor(page, () => window.__appReady === true, null, TIMEOUT)
    .catch((e) => { throw new Error(`app did not start: ${e.message}\n${seen.describe()}`); });
  const replayId = await engine.waitFor(page, () => window.Sentry.getReplay()?.getReplayId(), null, TIMEOUT)
    .then((h) => h.jsonValue());
  assert.match(replayId, /^[0-9a-f]{32}$/, 'replay started');
  return { page, seen, replayId };
}

const segmentsOf = (replayId) => segmentsOfReplay(srv, replayId);

function assertNoParseFailures() {
  assert.deepEqual(srv.failures, [], 'every envelope parses strictly');
}

/**
 * Reads what the page knows (Sentry's buffer type, the CSP violations it saw, its user agent), closes it, and
 * checks that every envelope so far parsed strictly.
 */
async function leave(page) {
  const [bufferType, violations, ua] = await page.evaluate(() => [window.Sentry.getReplay()._replay.eventBuffer.type, window.__cspViolations, navigator.userAgent]);
  await page.close();
  assertNoParseFailures();
  return { bufferType, violations, ua };
}

/** Types into the form and clicks the button, like a user. */
async function interact(engine, page, text) {
  await page.click('#question');
  await page.keyboard.type(text, { delay: 20 });
  await page.click('#send');
  await engine.waitFor(page, (t) => document.getElementById('status').textContent.includes(t), text, TIMEOUT);
}

for (const engine of ENGINES) describe(engine.name, () => {
  let browser;
  before(async () => {
    browser = await engine.launch();
  });
  after(() => browser?.close());
  const open = (...a) => openApp(engine, browser, ...a);

  test('session mode: segments are compressed by the ringflate worker and hold the page and the user input', async (t) => {
    const w = WORKERS.wasm;
    const requested = srv.count(w.path);
    const { page, seen, replayId } = await open('session', w);
    await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0');
    const typed = 'where is parcel 1042?';
    await interact(engine, page, typed);
    await srv.waitFor(() => {
      const ev = allEvents(segmentsOf(replayId));
      return inputWith(ev, typed) && incremental(ev, 2).length > 0;
    }, TIMEOUT, 'segments with the typed input and the clicks');

    const { bufferType, violations, ua } = await leave(page);
    assert.match(ua, engine.userAgent, `the page ran in ${engine.name}`);
    const segs = segmentsOf(replayId);
    assertConsecutive(segs);
    for (const s of segs) {
      assert.equal(s.compressed, true, `segment ${s.segmentId} body is zlib (78 9C) and inflates fully`);
      assert.equal(s.replayType, 'session');
    }
    assertCheckout(segs[0], ['Acme Orders', 'Order 1042 ships on Tuesday from the Rotterdam warehouse.', 'Send question']);
    const raw = segs.reduce((n, s) => n + Buffer.byteLength(s.text), 0);
    t.diagnostic(`${segs.length} segments, ${raw} bytes of JSON; segment 0: ${segs[0].events.length} events`);
    const later = allEvents(segs.slice(1));
    assert.ok(inputWith(later, typed), `a later segment has an Input event with ${JSON.stringify(typed)}`);
    assert.ok(incremental(later, 2).length >= 2, 'later segments have MouseInteraction events for the clicks');
    // Sentry uses the worker only once its first message said success; until then, or after a failure, it keeps
    // a plain array ('sync'). Its built-in worker is compiled out of the bundle and blob: workers are refused by
    // the page's CSP, so compressed bodies can only come from this worker.
    assert.equal(bufferType, 'worker', 'Sentry is using the compression worker, not its uncompressed fallback');
    assert.equal(srv.count(w.path) - requested, 1, 'the worker file is requested exactly once');
    assert.deepEqual(violations, [], 'no securitypolicyviolation on the page');
    assert.deepEqual(seen.errors, [], 'no page errors');
  });

  test('buffer mode: an error sends the buffered events as segment 0 with replay_type "buffer"', async () => {
    const w = WORKERS.plain;
    const requested = srv.count(w.path);
    const { page, seen, replayId } = await open('buffer', w);
    const typed = 'typed before the error';
    await interact(engine, page, typed);
    // Let the recorder hand the events to the worker, then make sure buffering sent nothing on its own.
    await engine.wait(page, 700);
    assert.equal(segmentsOf(replayId).length, 0, 'buffer mode sends nothing before an error');
    const message = `checkout failed: payment declined (${engine.name})`;
    await page.evaluate((m) => window.Sentry.captureException(new Error(m)), message);
    await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'buffered segment 0 after the error');
    const { bufferType, violations } = await leave(page);
    const segs = segmentsOf(replayId);
    assertConsecutive(segs);
    const seg0 = segs[0];
    assert.equal(seg0.replayType, 'buffer');
    assert.equal(seg0.compressed, true, 'segment 0 is compressed');
    assertCheckout(seg0, ['Acme Orders', 'Your loyalty balance is 380 points']);
    assert.ok(inputWith(seg0.events, typed), `segment 0 holds the input typed before the error (${JSON.stringify(typed)})`);
    assert.ok(incremental(seg0.events, 2).length >= 2, 'segment 0 holds the clicks made before the error');
    const errors = srv.envelopes.flatMap((e) => e.items.filter((i) => i.header.type === 'event').map((i) => JSON.parse(i.payload)));
    const err = errors.find((e) => e.exception?.values?.some((v) => v.value === message));
    assert.ok(err, 'the error event reached the endpoint');
    assert.equal(err.tags?.replayId, replayId, 'the error event is tagged with the replay id');
    assert.ok(seg0.event.error_ids.includes(err.event_id), `segment 0 lists the error id (error_ids: ${JSON.stringify(seg0.event.error_ids)})`);
    assert.equal(bufferType, 'worker', 'Sentry is using the compression worker');
    assert.equal(srv.count(w.path) - requested, 1, 'the worker file is requested exactly once');
    assert.deepEqual(violations, []);
    assert.deepEqual(seen.errors, []);
  });

  test('WASM refused by the CSP on the worker file: the worker says so at once, replays still arrive uncompressed', async (t) => {
    const w = WORKERS.nowasm;
    const { page, seen, replayId } = await open('session', w);
    // What Sentry sees: the worker's first message, observed here by starting a worker on the same URL.
    const probe = await page.evaluate((url) => window.probeWorker(url, 5000), w.path);
    assert.equal(probe.kind, 'message', `the worker must post a first message, got ${JSON.stringify(probe)}`);
    assert.equal(probe.data.success, false, 'first message reports failure');
    assert.equal(probe.data.method, 'init');
    assert.equal(probe.data.id, undefined);
    // Each engine words the refusal its own way (Firefox: "call to WebAssembly.compile() blocked by CSP", and no
    // securitypolicyviolation reaches the worker first); the worker recognises both, names the directive to add
    // and keeps the browser's own words.
    assert.match(probe.data.response, /^ringflate: the Content Security Policy sent with the worker file forbids/, probe.data.response);
    assert.match(probe.data.response, /'wasm-unsafe-eval'/, 'the reason names the directive to add');
    assert.match(probe.data.response, engine.wasmRefused, 'the browser\'s own words are kept');
    assert.equal(probe.data.response.split('ringflate:').length, 2, 'one "ringflate:" prefix');
    assert.ok(probe.ms < 1000, `first message within 1 s (took ${Math.round(probe.ms)} ms)`);
    t.diagnostic(`refusal reported ${Math.round(probe.ms)} ms after new Worker()`);

    const typed = 'still recorded without wasm';
    await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0 (uncompressed)');
    await interact(engine, page, typed);
    await srv.waitFor(() => inputWith(allEvents(segmentsOf(replayId)), typed), TIMEOUT, 'the typed input (uncompressed)');
    const { bufferType, violations } = await leave(page);
    const segs = segmentsOf(replayId);
    assertConsecutive(segs);
    for (const s of segs) assert.equal(s.compressed, false, `segment ${s.segmentId} is a plain JSON array (Sentry's fallback)`);
    assertCheckout(segs[0], ['Acme Orders', 'Order 1042 ships on Tuesday']);
    assert.ok(incremental(allEvents(segs), 2).length >= 2, 'the clicks are recorded');
    assert.equal(bufferType, 'sync', 'Sentry fell back to its uncompressed buffer');
    assert.deepEqual(violations, [], 'the refusal happens inside the worker, not on the page');
    assert.deepEqual(seen.errors, []);
  });

  test('through a tunnel on the app origin: segments arrive compressed with the DSN in the envelope header', async () => {
    const w = WORKERS.wasm;
    const before = srv.count(w.path);
    const { page, seen, replayId } = await open('session', w, { tunnel: '/tunnel' });
    await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0 through the tunnel');
    await page.close();
    assertNoParseFailures();
    const envs = srv.envelopes.filter((e) => e.replay?.event.replay_id === replayId);
    assert.ok(envs.length >= 1);
    for (const e of envs) {
      assert.ok(e.url.startsWith('/tunnel'), `sent to the tunnel, not ${e.url}`);
      assert.equal(e.header.dsn, srv.dsn, 'the tunnelled envelope names the DSN');
      assert.equal(e.replay.compressed, true, 'compressed');
    }
    assertCheckout(envs[0].replay, ['Acme Orders']);
    assert.equal(srv.count(w.path) - before, 1, 'the worker file is requested once for this page');
    assert.deepEqual(seen.errors, []);
  });
});
