// A trap inside the WebAssembly module and memory given back, in Chromium with real rrweb and the ringflate host
// script, using the worker built with `--test-hooks` (a `debug` engine op that traps or reports the instance's
// memory; the shipped file has none): the trapped message is answered `rejected` / `internal`, a new instance
// continues the replay after a checkout, and every event the page recorded arrives exactly once (the trapped
// instance's open segment completed by the host); after a 20 MB event and at the end of the replay the worker
// holds little memory again.
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

/** The worker instance's WebAssembly memory, in bytes. */
function memory(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const w = window.__worker;
        const on = (e) => {
          if (e.data && e.data.op === 'debug') {
            w.removeEventListener('message', on);
            resolve(e.data.memory);
          }
        };
        w.addEventListener('message', on);
        w.postMessage({ rf: 1, op: 'debug' });
      })
  );
}

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

test('memory: after a 20 MB event and after the replay ends the worker holds little again', async (t) => {
  const { page, seen, replayId } = await open();
  const start = await memory(page);
  await page.evaluate(() => {
    const text = 'x'.repeat(20 * 1024 * 1024);
    const e = { type: 5, timestamp: Date.now(), data: { tag: 'big', payload: { text } } };
    window.__faults.replay.addEvents([e]);
    window.__faults.replay.flush();
  });
  await srv.waitFor(() => segmentsOf(replayId).some((s) => s.events.some((e) => e.type === 5 && e.data.tag === 'big')), 60000, 'the 20 MB event');
  await page.waitForTimeout(500);
  const afterBig = await memory(page);
  const peak = await page.evaluate(() => window.__got.length);
  await page.evaluate(() => window.__faults.replay.stop());
  await page.waitForFunction(() => window.__got.includes('stopped'), null, { timeout: TIMEOUT });
  await page.waitForTimeout(300);
  const afterEnd = await memory(page);
  t.diagnostic(`memory: at start ${start} B, after the 20 MB event (sent, engine idle) ${afterBig} B, after the replay ended ${afterEnd} B (${peak} messages)`);
  assert.ok(afterBig < 64 * 1024 * 1024, `given back after the large event: ${afterBig}`);
  assert.ok(afterEnd <= 16 * 1024 * 1024, `small after the replay ended: ${afterEnd}`);
  assert.deepEqual(srv.failures, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});
