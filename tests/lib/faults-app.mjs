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

/** Starts the server and the browser; `close()` stops both and removes the bundle. */
export async function startFaultsApp(name) {
  const workerFile = path.join(ROOT, 'dist/ringflate-worker.js');
  assert.ok(fs.existsSync(workerFile), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `ringflate-${name}-`));
  await build({ entryPoints: [path.join(ROOT, 'tests/pages/faults-page.js')], bundle: true, format: 'iife', target: 'es2020', outfile: path.join(tmp, 'faults-page.js'), logLevel: 'error' });
  const srv = await startServer({ sentry: { expectCompressed: true } });
  srv.file(WORKER, workerFile, { 'Content-Security-Policy': "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" });
  srv.file('/app/faults.html', path.join(ROOT, 'tests/pages/faults.html'));
  srv.file('/app/faults-page.js', path.join(tmp, 'faults-page.js'));
  const browser = await launchBrowser();
  return {
    srv,
    browser,
    async close() {
      await browser.close();
      await srv.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
