// The demo as a person uses it, in Firefox: `node examples/serve.mjs` on a free loopback port, a recording made
// on /sentry.html by the real Sentry SDK (whose performanceSpan events are stamped in seconds), then
// /segments.html, where the player above the table must replay it past the first snapshot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { watchPage } from './lib/browser.mjs';
import { launchFirefox, sleep } from './lib/firefox.mjs';
import { ROOT } from './lib/bundle.mjs';

const TIMEOUT = 20000;
let server;
let base;
let ff;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/ringflate-worker.js')), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  const port = await freePort();
  server = spawn(process.execPath, [path.join(ROOT, 'examples/serve.mjs'), '--port', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo server did not start: ${said}`)), TIMEOUT);
    server.stdout.on('data', (d) => {
      said += d;
      if (said.includes('ringflate demo: http://')) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.stderr.on('data', (d) => { said += d; });
    server.on('exit', (code) => reject(new Error(`the demo server exited (${code}): ${said}`)));
  });
  base = `http://127.0.0.1:${port}`;
  ff = await launchFirefox();
});

after(async () => {
  await ff?.close();
  server?.kill();
});

const api = async (p) => (await fetch(`${base}${p}`)).json();

test('Firefox: a Sentry SDK recording plays in the demo player, which sits above the segments table', async (t) => {
  const page = await ff.newPage();
  const seen = watchPage(page);
  await page.goto(`${base}/sentry.html`);
  await page.waitForFunction(() => /Sentry replay [0-9a-f]{32}/.test(document.getElementById('status').textContent), { timeout: TIMEOUT });
  const replayId = await page.evaluate(() => window.document.getElementById('status').textContent.match(/[0-9a-f]{32}/)[0]);
  await sleep(800);
  await page.type('#name', 'Ada Lovelace');
  await page.click('#add');
  await page.waitForFunction(() => document.getElementById('rows').textContent.includes('Ada Lovelace'), { timeout: TIMEOUT });
  // Sentry sends nothing before the replay is 5 s old (its minimum replay duration); then the flush goes out.
  await sleep(5200);
  await page.click('#flush');
  let received;
  for (let i = 0; i < TIMEOUT / 250; i++) {
    received = await api(`/api/replays/${replayId}/events`).catch(() => []);
    if (JSON.stringify(received).includes('Ada Lovelace')) break;
    await sleep(250);
  }
  assert.ok(JSON.stringify(received).includes('Ada Lovelace'), 'the demo endpoint received the typed name');
  await page.close();
  assert.deepEqual(seen.errors, [], 'no errors on the Sentry page');

  // What makes this recording hard to play: the SDK's own events stamped in seconds, kept as received.
  const spans = received.filter((e) => e.type === 5 && e.data?.tag === 'performanceSpan');
  assert.ok(spans.length >= 1, 'the recording holds performanceSpan events');
  assert.ok(spans.every((e) => e.timestamp < 9999999999), 'they are stamped in seconds, as the SDK sent them');
  const meta = received.find((e) => e.type === 4);
  assert.ok(meta && meta.timestamp > 9999999999, 'rrweb events are in milliseconds');

  const view = await ff.newPage();
  const viewSeen = watchPage(view);
  await view.setViewport({ width: 1280, height: 800 });
  await view.goto(`${base}/segments.html`);
  await view.waitForSelector('button.play', { timeout: TIMEOUT });
  const rows = await view.$$('#segments tr');
  const play = await rows[rows.length - 1].$('button.play');
  assert.ok(play, 'the last segment of the replay has a play button');
  await play.click();
  // The name was typed about a second after the first snapshot: a player stuck at the first event (the
  // seconds-stamped span, decades "before" the page) would never show it.
  await view.waitForFunction(() => {
    const doc = document.querySelector('#player iframe')?.contentDocument;
    return doc?.getElementById('rows')?.textContent.includes('Ada Lovelace');
  }, { timeout: TIMEOUT }).catch((e) => {
    throw new Error(`the player never showed the order typed a second into the recording (${e.message})`);
  });
  const layout = await view.evaluate(() => {
    const box = document.getElementById('player-box').getBoundingClientRect();
    const table = document.querySelector('table').getBoundingClientRect();
    return { boxTop: box.top, boxBottom: box.bottom, tableTop: table.top, vh: innerHeight, title: document.getElementById('player-title').textContent };
  });
  await view.close();
  assert.match(layout.title, new RegExp(`^replay ${replayId.slice(0, 8)}… \\(sentry\\.javascript\\.browser, \\d+ events\\)$`));
  assert.ok(layout.boxBottom <= layout.tableTop, `the player is above the table (${JSON.stringify(layout)})`);
  assert.ok(layout.boxTop >= 0 && layout.boxTop < layout.vh, `the player is in view (${JSON.stringify(layout)})`);
  assert.deepEqual(viewSeen.errors, [], 'no errors on the segments page');
  t.diagnostic(`${received.length} events received, ${spans.length} performanceSpan events in seconds`);
});
