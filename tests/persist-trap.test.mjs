// A trap inside the WebAssembly module and memory given back, in Chromium with real rrweb and the ringflate host
// script, using the worker built with `--test-hooks` (a `debug` engine op that traps or reports the instance's
// memory; the shipped file has none): the trapped message is answered `rejected` / `internal`, a new instance
// continues the replay after a checkout, and after a 20 MB event and at the end of the replay the worker holds
// little memory again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { startServer } from './lib/server.mjs';
import { launchBrowser, watchPage } from './lib/browser.mjs';
import { ROOT } from './lib/bundle.mjs';

const WORKER = '/w/ringflate-worker.js';
const TIMEOUT = 30000;
let srv;
let browser;
let tmp;

before(async () => {
  execFileSync('node', ['worker/build.mjs', '--test-hooks'], { cwd: ROOT, stdio: 'ignore' });
  const workerFile = path.join(ROOT, 'dist/test-hooks/ringflate-worker.js');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-trap-'));
  await build({ entryPoints: [path.join(ROOT, 'tests/pages/faults-page.js')], bundle: true, format: 'iife', target: 'es2020', outfile: path.join(tmp, 'faults-page.js'), logLevel: 'error' });
  srv = await startServer({ sentry: { expectCompressed: true } });
  srv.file(WORKER, workerFile, { 'Content-Security-Policy': "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" });
  srv.file('/app/faults.html', path.join(ROOT, 'tests/pages/faults.html'));
  srv.file('/app/faults-page.js', path.join(tmp, 'faults-page.js'));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const segmentsOf = (replayId) => srv.envelopes.filter((e) => e.replay && e.replay.event.replay_id === replayId).map((e) => e.replay);

async function open() {
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
    };
  });
  await page.goto(`${srv.origin}/app/faults.html?${new URLSearchParams({ dsn: srv.dsn, worker: WORKER })}`);
  const replayId = await page.waitForFunction(() => window.__faults.replayId, null, { timeout: TIMEOUT }).then((h) => h.jsonValue());
  return { page, seen, replayId };
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

test('a trap: the message is rejected internal, a new instance continues the replay after a checkout', async () => {
  const { page, seen, replayId } = await open();
  await page.click('#question');
  await page.keyboard.type('before the trap', { delay: 20 });
  await page.waitForTimeout(400);
  const checkouts = await page.evaluate(() => window.__got.filter((o) => o === 'checkout').length);
  const rejected = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const w = window.__worker;
        w.addEventListener('message', function on(e) {
          if (e.data && e.data.op === 'rejected') {
            w.removeEventListener('message', on);
            resolve(e.data);
          }
        });
        w.postMessage({ rf: 1, op: 'debug', trap: true });
      })
  );
  assert.equal(rejected.code, 'internal');
  assert.equal(rejected.of, 'debug');
  assert.match(rejected.message, /^ringflate: internal error: /);
  await page.waitForFunction((n) => window.__got.filter((o) => o === 'checkout').length > n, checkouts, { timeout: TIMEOUT });
  await page.keyboard.type(' and after it', { delay: 20 });
  await page.evaluate(() => window.__faults.replay.flush());
  await srv.waitFor(() => segmentsOf(replayId).some((s) => s.events.some((e) => e.type === 3 && e.data.source === 5 && e.data.text === 'before the trap and after it')), TIMEOUT, 'input after the trap');
  const segs = segmentsOf(replayId);
  const after = segs.findIndex((s) => s.events.some((e) => e.type === 3 && e.data.text === 'before the trap and after it'));
  assert.ok(segs.slice(0, after + 1).some((s) => s.events.some((e) => e.type === 2)), 'a full snapshot after the trap');
  const ids = segs.map((s) => s.segmentId);
  assert.equal(new Set(ids).size, ids.length, `no segment id twice (${ids})`);
  assert.deepEqual(srv.failures, []);
  assert.deepEqual(seen.errors, []);
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
