// ringflateReplay in an Electron renderer: the real @sentry/electron/renderer SDK (which brings its own
// @sentry/browser and @sentry/core, a different version from the top-level ones) bundled with ringflate/sentry,
// in a Chromium page. Electron itself is not installed, so the page gets the IPC bridge exactly as
// @sentry/electron's preload exposes it (window.__SENTRY_IPC__['sentry-ipc'], src/preload/index.ts), and the
// test server stands in for the main process on the other end. Replay envelopes must travel through that
// bridge, parse strictly and inflate to the recording.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { startServer } from './lib/server.mjs';
import { launchBrowser, watchPage } from './lib/browser.mjs';
import { parseEnvelope } from './lib/envelope.mjs';
import { ROOT } from './lib/bundle.mjs';

const WORKER = '/w/ringflate-worker.js';
// A renderer's CSP: nothing but its own origin (the main process does the network).
const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; worker-src 'self'; connect-src 'self'";
const TIMEOUT = 25000;

let srv;
let browser;
let tmp;
const bridged = []; // { channel, envelope } as the stand-in main process received them
const failures = [];

before(async () => {
  const workerFile = path.join(ROOT, 'dist/ringflate-worker.js');
  assert.ok(fs.existsSync(workerFile), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-electron-'));
  const pages = path.join(ROOT, 'tests/pages');
  const bundle = path.join(tmp, 'renderer.js');
  await build({
    entryPoints: [path.join(pages, 'sentry-integration-electron-page.js')],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    outfile: bundle,
    logLevel: 'error',
    alias: { ringflate: path.join(ROOT, 'host-js/src/index.js') },
  });
  srv = await startServer();
  // The main process end of the IPC bridge.
  srv.use((req, res, next) => {
    if (req.method !== 'POST' || !req.url.startsWith('/main')) return next();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const channel = new URL(req.url, 'http://x').searchParams.get('channel');
      const body = Buffer.concat(chunks);
      if (channel === 'sentry-ipc.envelope') {
        try {
          bridged.push({ channel, envelope: parseEnvelope(body, { expectCompressed: true }), receivedAt: Date.now() });
        } catch (e) {
          failures.push(e.message);
        }
      } else {
        bridged.push({ channel, bytes: body.length });
      }
      res.writeHead(200).end();
    });
  });
  srv.file('/app/index.html', path.join(pages, 'sentry-integration-electron.html'), { 'Content-Security-Policy': PAGE_CSP });
  srv.file('/app/csp-watch.js', path.join(pages, 'csp-watch.js'));
  srv.file('/app/preload.js', path.join(pages, 'sentry-integration-electron-preload.js'));
  srv.file('/app/renderer.js', bundle);
  srv.file(WORKER, workerFile, { 'Content-Security-Policy': "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('replay envelopes travel through the renderer IPC bridge, parse strictly and inflate to the recording', async (t) => {
  const page = await browser.newPage();
  const seen = watchPage(page);
  const q = new URLSearchParams({ worker: WORKER, main: '/main' });
  await page.goto(`${srv.origin}/app/index.html?${q}`);
  await page.waitForFunction(() => window.__appReady === true, null, { timeout: TIMEOUT });
  const replayId = await page
    .waitForFunction(() => window.__replay()?.getReplayId(), null, { timeout: TIMEOUT })
    .then((h) => h.jsonValue())
    .catch((e) => {
      throw new Error(`no replay started: ${e.message}\n${seen.describe()}`);
    });
  const replays = () => bridged.filter((b) => b.envelope?.replay?.event.replay_id === replayId).map((b) => b.envelope);
  const waitFor = async (fn, what) => {
    const t0 = Date.now();
    while (!fn()) {
      if (Date.now() - t0 > TIMEOUT) throw new Error(`timed out waiting for ${what}; bridged: ${bridged.map((b) => b.channel).join(' ')}; failures: ${failures}\n${seen.describe()}`);
      await page.waitForTimeout(200);
    }
  };
  await waitFor(() => replays().length >= 1, 'segment 0 over IPC');
  await page.click('#question');
  await page.keyboard.type('sent from the desktop app', { delay: 15 });
  await page.click('#send');
  const texts = () => replays().flatMap((e) => e.replay.events).filter((e) => e.type === 3 && e.data.source === 5).map((e) => e.data.text);
  await waitFor(() => texts().includes('sent from the desktop app'), 'the typed text over IPC');
  await page.evaluate(() => window.Sentry.captureException(new Error('desktop failure')));
  const errorEnv = () => bridged.find((b) => b.envelope?.items.some((i) => i.header.type === 'event' && String(i.payload).includes('desktop failure')));
  await waitFor(errorEnv, 'the error over IPC');
  const errId = JSON.parse(errorEnv().envelope.items.find((i) => i.header.type === 'event').payload).event_id;
  await waitFor(() => replays().some((e) => e.replay.event.error_ids.includes(errId)), 'a segment listing the error');

  const violations = await page.evaluate(() => window.__cspViolations);
  const ipc = await page.evaluate(() => window.__ipc.map((m) => m.channel));
  const logs = await page.evaluate(() => window.__logs.map((l) => l.text).filter((l) => l.includes('ringflate:')));
  await page.close();

  assert.deepEqual(failures, [], 'every envelope through the bridge parses strictly');
  const segs = replays().map((e) => e.replay);
  assert.deepEqual(segs.map((s) => s.segmentId), segs.map((_, i) => i), 'segment ids consecutive from 0');
  for (const s of segs) assert.equal(s.compressed, true, 'recordings compressed by the worker, inflated by the test');
  assert.equal(segs[0].events[0].type, 4, 'segment 0 starts with Meta');
  assert.ok(JSON.stringify(segs[0].events).includes('Order 1042 ships on Tuesday'), 'the page is in the recording');
  const ev = segs[0].event;
  const errEvent = JSON.parse(errorEnv().envelope.items.find((i) => i.header.type === 'event').payload);
  assert.deepEqual([ev.sdk.name, ev.sdk.version], [errEvent.sdk.name, errEvent.sdk.version], "the replay_event names the renderer's SDK as its error events do");
  assert.match(ev.sdk.version, /^10\./, "the renderer's own SDK version (10.x), not the top-level 11.x");
  assert.ok(ev.sdk.integrations.includes('RingflateReplay'));
  assert.equal(typeof ev.request?.headers?.['User-Agent'], 'string', "the client's event processors ran (request)");
  assert.ok(ipc.filter((c) => c === 'sentry-ipc.envelope').length >= segs.length, 'envelopes were handed to sendEnvelope of the bridge');
  assert.equal(srv.envelopes.length, 0, 'nothing was sent to an ingest directly');
  assert.deepEqual(violations, [], 'no CSP violation: the renderer itself sends nothing over the network but to its own origin');
  // The renderer SDK brings its own @sentry/core; the integration notices and says so once.
  assert.equal(logs.filter((l) => l.includes('a second @sentry/core is bundled')).length, 1, `logger: ${logs}`);
  assert.deepEqual(seen.errors, []);
  t.diagnostic(`${segs.length} segments over IPC; channels used: ${[...new Set(ipc)].join(', ')}`);
});
