// A trap inside the WebAssembly module and memory given back, in Chromium with real rrweb and the ringflate host
// script, using the worker built with `--test-hooks` (a `debug` engine op that traps or reports the instance's
// memory; the shipped file has none): the trapped message is answered `rejected` / `internal`, a new instance
// continues the replay after a checkout, and every event the page recorded arrives exactly once (the trapped
// instance's open segment completed by the host); a 20 MB event arrives intact while the instance holds a few
// parts of it at most, and at the end of the replay the worker holds little memory again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { watchPage } from './lib/browser.mjs';
import { ROOT } from './lib/bundle.mjs';
import { startFaultsApp, WORKER } from './lib/faults-app.mjs';

const TIMEOUT = 30000;
let app;
let srv;
let browser;

before(async () => {
  execFileSync('node', ['worker/build.mjs', '--test-hooks'], { cwd: ROOT, stdio: 'ignore' });
  app = await startFaultsApp('trap', { workerFile: path.join(ROOT, 'dist/test-hooks/ringflate-worker.js') });
  ({ srv, browser } = app);
});

after(() => app?.close());

const segmentsOf = (replayId) => app.segmentsOf(replayId);

async function open(params = {}) {
  const page = await browser.newPage();
  const seen = watchPage(page);
  // Keeps the page's worker and what it posts.
  await page.addInitScript(() => {
    const W = window.Worker;
    window.__got = [];
    window.Worker = class extends W {
      constructor(...a) {
        super(...a);
        window.__worker = this;
        this.addEventListener('message', (e) => window.__got.push(e.data && e.data.op));
      }
      // `__trapNext`: the module traps right after it received the next batch.
      postMessage(m, t) {
        super.postMessage(m, t);
        if (m && m.op === 'events' && window.__trapNext) {
          window.__trapNext = false;
          super.postMessage({ rf: 1, op: 'debug', trap: true });
        }
      }
    };
  });
  await page.goto(`${srv.origin}/app/faults.html?${new URLSearchParams({ dsn: srv.dsn, worker: WORKER, ...params })}`);
  const replayId = await page.waitForFunction(() => window.__faults.replayId, null, { timeout: TIMEOUT }).then((h) => h.jsonValue());
  return { page, seen, replayId };
}

/** Makes the module trap (at once, or right after the next batch it receives); resolves with the rejection. */
function trap(page, { afterNextBatch = false } = {}) {
  return page.evaluate(
    (next) =>
      new Promise((resolve) => {
        const w = window.__worker;
        w.addEventListener('message', function on(e) {
          if (e.data && e.data.op === 'rejected') {
            w.removeEventListener('message', on);
            resolve(e.data);
          }
        });
        if (next) window.__trapNext = true;
        else w.postMessage({ rf: 1, op: 'debug', trap: true });
      }),
    afterNextBatch
  );
}

/** The worker instance's WebAssembly memory in bytes (`memory`), and the most UTF-16 units of a batch that enter it at once (`chunk`). */
function debug(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const w = window.__worker;
        const on = (e) => {
          if (e.data && e.data.op === 'debug') {
            w.removeEventListener('message', on);
            resolve({ memory: e.data.memory, chunk: e.data.chunk });
          }
        };
        w.addEventListener('message', on);
        w.postMessage({ rf: 1, op: 'debug' });
      })
  );
}
const memory = (page) => debug(page).then((d) => d.memory);

test('a trap: the message is rejected internal, a new instance continues the replay after a checkout, every event once', async (t) => {
  const { page, seen, replayId } = await open();
  await page.click('#question');
  await page.keyboard.type('before the trap', { delay: 20 });
  await page.waitForTimeout(400);
  const checkouts = await page.evaluate(() => window.__got.filter((o) => o === 'checkout').length);
  // The trap comes right after a batch, while the page goes on typing: the trapped instance's open segment holds
  // events the host has in its partials and its batches, and later batches reach the new instance.
  const rejected = trap(page, { afterNextBatch: true });
  await page.keyboard.type(' typed as it traps', { delay: 20 });
  const r = await rejected;
  assert.equal(r.code, 'internal');
  assert.equal(r.of, 'debug');
  assert.match(r.message, /^ringflate: internal error: /);
  assert.ok(Number.isInteger(r.seq) && r.seq >= 1, `the last batch the trapped instance received: ${r.seq}`);
  await page.waitForFunction((n) => window.__got.filter((o) => o === 'checkout').length > n, checkouts, { timeout: TIMEOUT });
  await page.keyboard.type(' and after it', { delay: 20 });
  await page.evaluate(() => window.__faults.replay.flush());
  const recorded = await page.evaluate(() => window.__faults.recorded);
  await app.exactlyOnce(replayId, recorded);
  const segs = segmentsOf(replayId);
  const last = segs.findIndex((s) => s.events.some((e) => e.type === 3 && e.data.source === 5 && e.data.text === 'before the trap typed as it traps and after it'));
  assert.ok(last > 0, 'the replay went on in a later segment');
  assert.ok(segs.slice(1, last + 1).some((s) => s.events.some((e) => e.type === 2)), 'a full snapshot after the trap');
  assert.deepEqual(seen.errors, []);
  t.diagnostic(`${recorded.length} events in ${segs.length} segments; the trap came after batch ${r.seq}`);
  await page.close();
});

test('a trap in buffer mode: the new instance takes the stored buffer over, so an error after it sends the history from before', async (t) => {
  const { page, seen, replayId } = await open({ buffer: '1' });
  assert.equal(await page.evaluate(() => window.__faults.mode), 'buffer');
  await page.click('#question');
  await page.keyboard.type('typed before the trap', { delay: 20 });
  // The worker saves the buffer's generations at most once a second, and within a second of an event.
  await page.waitForTimeout(1500);
  const checkouts = await page.evaluate(() => window.__got.filter((o) => o === 'checkout').length);
  const rejected = await trap(page);
  assert.equal(rejected.code, 'internal');
  await page.waitForFunction((n) => window.__got.filter((o) => o === 'checkout').length > n, checkouts, { timeout: TIMEOUT });
  await page.keyboard.type(' and after it', { delay: 20 });
  await page.waitForTimeout(400);
  assert.equal(segmentsOf(replayId).length, 0, 'still buffering: nothing sent');
  const sampled = await page.evaluate(() => window.__faults.replay.captureError(new Error('after the trap')));
  assert.equal(sampled, true);
  await srv.waitFor(() => segmentsOf(replayId).some((s) => s.events.some((e) => e.type === 3 && e.data.text === 'typed before the trap and after it')), TIMEOUT, 'the buffer after the error');
  const events = segmentsOf(replayId).flatMap((s) => s.events);
  const texts = events.filter((e) => e.type === 3 && e.data.source === 5).map((e) => e.data.text);
  assert.ok(texts.includes('typed before the trap'), `the input typed before the trap is in the history (inputs: ${texts.length})`);
  assert.equal(events[0].type, 4, 'segment 0 starts at a checkout');
  const trappedAt = events.findIndex((e) => e.type === 3 && e.data.text === 'typed before the trap');
  assert.ok(events.slice(0, trappedAt).some((e) => e.type === 2), 'from the checkout before the trap');
  const ids = segmentsOf(replayId).map((s) => s.segmentId);
  assert.deepEqual(ids, ids.map((_, i) => i), 'segment ids 0, 1, 2 …');
  assert.deepEqual(srv.failures, []);
  assert.deepEqual(seen.errors, []);
  t.diagnostic(`${events.length} events in ${ids.length} segments after the error`);
  await page.close();
});

// 11 UTF-16 units of JSON text per 8 of the string: an escaped quote, backslash and newline, a 2-byte and a 4-byte
// UTF-8 character (a surrogate pair), so that the worker's parts are cut inside each of them somewhere along 20 MB.
const PATTERN = 'ab"\\\u00e9\u{1F389}\n';

test('memory: a 20 MB event enters the module in parts and arrives intact; after the replay ends the worker holds little again', async (t) => {
  const { page, seen, replayId } = await open();
  const { memory: start, chunk } = await debug(page);
  assert.ok(Number.isInteger(chunk) && chunk > 0, `the part size: ${chunk}`);
  const checkouts = () => page.evaluate(() => window.__got.filter((o) => o === 'checkout').length);
  const before = await checkouts();
  // 15 Mi units of string: its JSON is 20.6 Mi units (26 MiB of UTF-8).
  const length = 15 * 1024 * 1024;
  await page.evaluate(
    ({ pattern, length }) => {
      const text = pattern.repeat(Math.ceil(length / pattern.length)).slice(0, length - 1) + 'z';
      const e = { type: 5, timestamp: Date.now(), data: { tag: 'big', payload: { text } } };
      window.__faults.replay.addEvents([e]);
      window.__faults.replay.flush();
    },
    { pattern: PATTERN, length }
  );
  await srv.waitFor(() => segmentsOf(replayId).some((s) => s.events.some((e) => e.type === 5 && e.data.tag === 'big')), 60000, 'the 20 MB event');
  await page.waitForTimeout(500);
  const afterBig = await memory(page);
  // No new instance since the event (a restart asks for a checkout): the figure is the peak of the instance that
  // handled it (WebAssembly memory never shrinks).
  assert.equal(await checkouts(), before, 'the instance that handled the event answered');
  const seg = segmentsOf(replayId).find((s) => s.events.some((e) => e.type === 5 && e.data.tag === 'big'));
  const big = seg.events.find((e) => e.type === 5 && e.data.tag === 'big');
  const want = PATTERN.repeat(Math.ceil(length / PATTERN.length)).slice(0, length - 1) + 'z';
  assert.ok(big.data.payload.text === want, `the event's text arrived intact (${big.data.payload.text.length} of ${want.length} units)`);
  // What the instance may hold beyond what it held before, by the event's whole text never entering it: two parts
  // of the batch (one freed as the next is read; at most 3 bytes of UTF-8 per unit each), a new segment's deflater
  // (zlib-rs's one allocation: window 64 KiB, hash chains 64 + 128 KiB, pending 64 KiB, symbols 48 KiB, about
  // 370 KiB: under 2 parts' worth of units), and the compressed output up to 4 times (the growing segment bytes,
  // the finished stream, the envelope).
  const bound = start + 2 * 3 * chunk + 2 * chunk + 4 * seg.bytes;
  const peak = await page.evaluate(() => window.__got.length);
  await page.evaluate(() => window.__faults.replay.stop());
  await page.waitForFunction(() => window.__got.includes('stopped'), null, { timeout: TIMEOUT });
  await page.waitForTimeout(300);
  const afterEnd = await memory(page);
  t.diagnostic(`memory: at start ${start} B, peak of the instance that handled the 20 MB event ${afterBig} B (bound ${bound} B: parts of ${chunk} units, segment ${seg.bytes} B), after the replay ended ${afterEnd} B (${peak} messages)`);
  assert.ok(afterBig <= bound, `peak ${afterBig} B within ${bound} B`);
  assert.ok(afterEnd <= 16 * 1024 * 1024, `small after the replay ended: ${afterEnd}`);
  assert.deepEqual(srv.failures, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});
