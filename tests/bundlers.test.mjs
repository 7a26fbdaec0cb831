// The worker through real bundlers, as an app gets it from the packed tarball: a Vite build using
// `ringflate/worker?url` and a webpack 5 production build using `new URL('ringflate/worker', import.meta.url)`,
// both bundling the real @sentry/browser with `replayIntegration({ workerUrl })` (tests/bundlers/). Each build is
// served with the Express + helmet recipe (csp/express-helmet.mjs, run by real helmet) in Chromium, and the
// replay envelopes must carry `78 9C` recordings that inflate to valid rrweb events, with no CSP violation.
// The emitted worker's name must be one the nginx and Electron recipes also recognise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startServer } from './lib/server.mjs';
import { launchBrowser, watchPage } from './lib/browser.mjs';
import { ROOT } from './lib/bundle.mjs';
import { packAndInstall } from './lib/pack.mjs';

const FIXTURES = path.join(ROOT, 'tests/bundlers');
const TIMEOUT = 20000;
const NODE_MODULES = path.join(ROOT, 'node_modules');

let tmp;
let pkg;
let browser;
const servers = [];

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-bundlers-'));
  pkg = packAndInstall(tmp);
  for (const f of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, f), path.join(pkg.app, f));
  // The app's other dependency, @sentry/browser, is the repository's (same pinned version, no network).
  fs.symlinkSync(path.join(NODE_MODULES, '@sentry'), path.join(pkg.app, 'node_modules/@sentry'), 'dir');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs a bundler's own command line in the app directory; returns the wall time in ms. */
function runCli(bin, args) {
  const t0 = performance.now();
  try {
    execFileSync(process.execPath, [bin, ...args], {
      cwd: pkg.app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
      // webpack.config.cjs requires webpack itself, which lives in the repository's node_modules.
      env: { ...process.env, NODE_PATH: NODE_MODULES, NO_COLOR: '1' },
    });
  } catch (e) {
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed:\n${e.stdout}\n${e.stderr}`);
  }
  return performance.now() - t0;
}

/** Every file of a build, as URL paths. */
function listFiles(dir, prefix = '/') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(path.join(dir, d.name), `${prefix}${d.name}/`) : [`${prefix}${d.name}`]);
}

/** The worker-file rules of the other recipes: nginx's regex location and the Electron rule. */
function otherRecipes() {
  const conf = fs.readFileSync(path.join(ROOT, 'csp/nginx.conf'), 'utf8');
  const nginx = new RegExp(/location\s+~\s+(\S*ringflate-worker\S*)\s*\{/.exec(conf)[1]);
  const electron = createRequire(import.meta.url)(path.join(ROOT, 'csp/electron-csp.cjs'));
  return { nginx, electron };
}

/** Serves `dist` with the helmet recipe, opens it in Chromium, types, and returns what Sentry sent. */
async function runApp(dist, name) {
  const recipe = await import(path.join(ROOT, 'csp/express-helmet.mjs'));
  const srv = await startServer({ sentry: { tunnel: '/tunnel', expectCompressed: true } });
  servers.push(srv);
  srv.use(recipe.ringflateCsp);
  srv.dir('/', dist);
  const page = await browser.newPage();
  const seen = watchPage(page);
  try {
    await page.goto(`${srv.origin}/index.html`);
    await page.waitForFunction(() => window.__appReady === true, null, { timeout: TIMEOUT })
      .catch((e) => { throw new Error(`${name}: app did not start: ${e.message}\n${seen.describe()}`); });
    const replayId = await page.waitForFunction(() => window.Sentry.getReplay()?.getReplayId(), null, { timeout: TIMEOUT })
      .then((h) => h.jsonValue());
    const mine = () => srv.replays.filter((r) => r.event.replay_id === replayId);
    await srv.waitFor(() => mine().length >= 1, TIMEOUT, `${name}: segment 0`);
    const typed = `${name} asks about order 2051`;
    await page.click('#question');
    await page.keyboard.type(typed, { delay: 15 });
    await page.click('#send');
    await srv.waitFor(() => mine().some((s) => s.events.some((e) => e.type === 3 && e.data?.source === 5 && String(e.data.text).includes(typed))),
      TIMEOUT, `${name}: a segment with the typed input`);
    const state = await page.evaluate(() => ({
      bufferType: window.Sentry.getReplay()._replay.eventBuffer.type,
      violations: window.__cspViolations,
      workerUrl: window.__workerUrl,
    }));
    return { srv, segments: mine(), state, seen, typed };
  } finally {
    await page.close();
  }
}

function assertSentryUsedTheWorker({ srv, segments, state, seen }, workerPath, name) {
  assert.deepEqual(srv.failures, [], `${name}: every envelope parses strictly (and every recording is compressed)`);
  assert.ok(segments.length >= 2, `${name}: ${segments.length} segments`);
  for (const s of segments) {
    assert.equal(s.compressed, true, `${name}: segment ${s.segmentId} is zlib 78 9C and inflates fully`);
    assert.ok(s.events.length > 0 && s.events.every((e) => typeof e.type === 'number' && typeof e.timestamp === 'number'), 'rrweb events');
  }
  const first = segments[0].events;
  const full = first.find((e) => e.type === 2);
  assert.ok(first.findIndex((e) => e.type === 4) >= 0 && full, `${name}: segment 0 starts with a checkout`);
  assert.ok(JSON.stringify(full).includes('Order 2051 leaves the Lyon depot on Friday.'), `${name}: the snapshot holds the page`);
  assert.equal(state.bufferType, 'worker', `${name}: Sentry is on the compression worker, not its uncompressed fallback\n${seen.describe()}`);
  assert.deepEqual(state.violations, [], `${name}: no CSP violation on the page`);
  const cspMessages = seen.console.filter((m) => /content security policy|wasm-unsafe-eval/i.test(m.text));
  assert.deepEqual(cspMessages, [], `${name}: no CSP message in the console (page or worker)`);
  assert.equal(new URL(state.workerUrl, `${srv.origin}/index.html`).pathname, workerPath, `${name}: the app's workerUrl is the emitted file`);
  const fetches = srv.log.filter((l) => l.path === workerPath);
  assert.equal(fetches.length, 1, `${name}: the worker file was fetched once`);
  assert.match(fetches[0].csp, /script-src 'self' 'wasm-unsafe-eval'/, `${name}: served with the worker policy`);
  const pageCsp = srv.log.find((l) => l.path === '/index.html').csp;
  assert.ok(pageCsp && !pageCsp.includes('wasm-unsafe-eval') && !pageCsp.includes('blob:'), `${name}: a strict page policy: ${pageCsp}`);
}

function assertRecipesMatch(files, workerPath, name) {
  const { nginx, electron } = otherRecipes();
  for (const f of files) {
    const isWorker = f === workerPath;
    assert.equal(nginx.test(f), isWorker, `${name}: nginx.conf's worker location ${isWorker ? 'matches' : 'does not match'} ${f}`);
    assert.equal(electron.cspFor(`app://bundle${f}`) === electron.WORKER_CSP, isWorker, `${name}: electron-csp.cjs on ${f}`);
  }
}

test('Vite: ringflate/worker?url, served with the CSP recipe, is the worker Sentry uses', async (t) => {
  const ms = runCli(path.join(NODE_MODULES, 'vite/bin/vite.js'), ['build', '--config', 'vite.config.mjs']);
  t.diagnostic(`vite build: ${Math.round(ms)} ms`);
  const dist = path.join(pkg.app, 'dist-vite');
  const files = listFiles(dist);
  const workers = files.filter((f) => f.includes('ringflate-worker'));
  assert.equal(workers.length, 1, `one worker file emitted: ${files.join(', ')}`);
  const [workerPath] = workers;
  assert.match(workerPath, /^\/assets\/ringflate-worker-[A-Za-z0-9_-]+\.js$/, 'Vite names it assets/ringflate-worker-<hash>.js');
  assert.ok(fs.readFileSync(path.join(dist, workerPath)).equals(fs.readFileSync(path.join(pkg.installed, 'dist/ringflate-worker.js'))),
    'Vite copies the worker byte for byte (an asset, not re-bundled or inlined)');
  assertRecipesMatch(files, workerPath, 'vite');
  assertSentryUsedTheWorker(await runApp(dist, 'vite'), workerPath, 'vite');
});

test('webpack 5: new URL(ringflate/worker, import.meta.url), re-minified by Terser, still the worker Sentry uses', async (t) => {
  const ms = runCli(path.join(NODE_MODULES, 'webpack-cli/bin/cli.js'), ['--config', 'webpack.config.cjs']);
  t.diagnostic(`webpack build: ${Math.round(ms)} ms`);
  const dist = path.join(pkg.app, 'dist-webpack');
  fs.writeFileSync(path.join(dist, 'index.html'), fs.readFileSync(path.join(pkg.app, 'index.html'), 'utf8')
    .replace('<script type="module" src="./vite-main.js"></script>', '<script src="main.js" defer></script>'));
  const files = listFiles(dist);
  const workers = files.filter((f) => f.includes('ringflate-worker'));
  assert.equal(workers.length, 1, `one worker file emitted: ${files.join(', ')}`);
  const [workerPath] = workers;
  assert.match(workerPath, /^\/assets\/ringflate-worker\.[0-9a-f]{8}\.js$/, 'the asset rule names it assets/ringflate-worker.<hash>.js');
  const original = fs.readFileSync(path.join(pkg.installed, 'dist/ringflate-worker.js'));
  const emitted = fs.readFileSync(path.join(dist, workerPath));
  // webpack's production minimizer (Terser) rewrites every .js asset, this one included. The browser run below is
  // what shows that harmless: the rewritten file still starts, compresses, and Sentry's envelopes inflate.
  assert.ok(!emitted.equals(original), 'webpack rewrote the worker (if this fails, it no longer does: update csp/README.md)');
  t.diagnostic(`worker ${original.length} B → ${emitted.length} B after webpack`);
  assert.ok(!/^\s*(import|export)\s/m.test(emitted.toString('utf8')), 'still a classic script');
  assertRecipesMatch(files, workerPath, 'webpack');
  assertSentryUsedTheWorker(await runApp(dist, 'webpack'), workerPath, 'webpack');
});
