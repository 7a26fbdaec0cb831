// The app the fault and load tests drive (tests/pages/faults.html with faults-page.js: real rrweb and the
// ringflate host script), served with the worker under its own CSP, the local ingest parsing every envelope
// strictly, and a Chromium to open it in. Shared by tests/faults.test.mjs and tests/load.test.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { startServer } from './server.mjs';
import { launchBrowser } from './browser.mjs';
import { ROOT } from './bundle.mjs';

export const WORKER = '/w/ringflate-worker.js';

/**
 * Starts the server and the browser; `close()` stops both and removes the bundle. `workerFile`: the worker to
 * serve (default dist/ringflate-worker.js). `segmentsOf(replayId)` lists a replay's parsed segments as they
 * arrived; `exactlyOnce(replayId, recorded)` waits until every recorded event text arrived and asserts each
 * arrived once, in segments 0, 1, 2 … without a gap or a repeat, and that every envelope parsed strictly.
 */
export async function startFaultsApp(name, { workerFile = path.join(ROOT, 'dist/ringflate-worker.js') } = {}) {
  assert.ok(fs.existsSync(workerFile), `${path.relative(ROOT, workerFile)} is missing: run node worker/build.mjs first`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `ringflate-${name}-`));
  await build({ entryPoints: [path.join(ROOT, 'tests/pages/faults-page.js')], bundle: true, format: 'iife', target: 'es2020', outfile: path.join(tmp, 'faults-page.js'), logLevel: 'error' });
  const srv = await startServer({ sentry: { expectCompressed: true } });
  srv.file(WORKER, workerFile, { 'Content-Security-Policy': "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" });
  srv.file('/app/faults.html', path.join(ROOT, 'tests/pages/faults.html'));
  srv.file('/app/faults-page.js', path.join(tmp, 'faults-page.js'));
  const browser = await launchBrowser();
  const segmentsOf = (replayId) =>
    srv.envelopes.filter((e) => e.replay && e.replay.event.replay_id === replayId).map((e) => ({ ...e.replay, receivedAt: e.receivedAt, bytes: e.items.find((i) => i.header.type === 'replay_recording').payload.length }));
  const deliveredTexts = (replayId) => segmentsOf(replayId).flatMap((s) => s.events.map((e) => JSON.stringify(e)));
  /** `extra`: arrivals the page did not record are allowed. */
  const exactlyOnce = async (replayId, recorded, { extra = false, ms = 30000 } = {}) => {
    const want = counts(recorded);
    await srv.waitFor(() => {
      const got = counts(deliveredTexts(replayId));
      return [...want.keys()].every((t) => got.has(t));
    }, ms, `all ${recorded.length} recorded events`);
    const got = counts(deliveredTexts(replayId));
    const twice = [...got].filter(([, n]) => n > 1);
    assert.deepEqual(twice.map(([t]) => t.slice(0, 120)), [], 'no event delivered twice');
    const missing = [...want].filter(([t, n]) => got.get(t) !== n);
    assert.deepEqual(missing.map(([t]) => t.slice(0, 120)), [], 'every recorded event delivered once');
    if (!extra) {
      const unknown = [...got.keys()].filter((t) => !want.has(t));
      assert.deepEqual(unknown.map((t) => t.slice(0, 120)), [], 'nothing delivered that the page did not record');
    }
    const ids = segmentsOf(replayId).map((s) => s.segmentId);
    assert.equal(new Set(ids).size, ids.length, `no segment delivered twice (${ids})`);
    assert.deepEqual([...ids].sort((a, b) => a - b), ids.map((_, i) => i), 'segment ids 0, 1, 2 … without a gap');
    assert.deepEqual(srv.failures, [], 'every envelope parses strictly');
  };
  return {
    srv,
    browser,
    segmentsOf,
    exactlyOnce,
    async close() {
      await browser.close();
      await srv.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

function counts(list) {
  const m = new Map();
  for (const t of list) m.set(t, (m.get(t) || 0) + 1);
  return m;
}
