// `ringflate init <dir>` (host-js/bin/ringflate.mjs), run as a separate node process on temporary directories:
// what it writes, what it prints, and its exit status in every case it distinguishes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'host-js/bin/ringflate.mjs');
const WORKER = path.join(ROOT, 'host-js/dist/ringflate-worker.js');
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'host-js/package.json'), 'utf8')).version;

let tmp;
before(() => {
  assert.ok(fs.existsSync(WORKER), `${WORKER} is missing: run node worker/build.mjs and node host-js/build.mjs first`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-init-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(...args) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let n = 0;
function freshDir() {
  const d = path.join(tmp, `app${++n}`, 'public');
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** The worker policy of csp/nginx.conf (its `location ~ …ringflate-worker…` block), which the CSP tests run in Chromium. */
function recipeWorkerCsp() {
  const conf = fs.readFileSync(path.join(ROOT, 'csp/nginx.conf'), 'utf8');
  const block = /location\s+~\s+\S*ringflate-worker\S*\s*\{([^}]*)\}/.exec(conf)?.[1];
  const csp = block && /add_header\s+Content-Security-Policy\s+"([^"]+)"/.exec(block)?.[1];
  assert.ok(csp, 'csp/nginx.conf has the worker policy');
  return csp;
}

test('init copies the worker under its stable name and prints the CSP and the workerUrl lines', () => {
  const dir = freshDir();
  const r = run('init', dir);
  assert.equal(r.code, 0, r.err);
  const dest = path.join(dir, 'ringflate-worker.js');
  assert.ok(fs.readFileSync(dest).equals(fs.readFileSync(WORKER)), 'the copy has the package worker\'s bytes');
  assert.deepEqual(fs.readdirSync(dir), ['ringflate-worker.js'], 'nothing else is left in the directory');
  assert.match(r.out, new RegExp(`ringflate ${VERSION.replace(/\./g, '\\.')}`), 'names the version it wrote');
  const header = /Content-Security-Policy: (.+)/.exec(r.out)?.[1];
  assert.equal(header, recipeWorkerCsp(), 'the printed worker header is the tested recipe\'s');
  assert.match(r.out, /^ {2}worker-src 'self'$/m, 'prints the page\'s worker-src');
  assert.match(r.out, /Sentry\.replayIntegration\(\{ workerUrl: '\/ringflate-worker\.js' \}\)/);
  assert.match(r.out, /startReplay\(\{ workerUrl: '\/ringflate-worker\.js'/);
  assert.equal(r.err, '');
});

test('--base sets the URL path in the printed code', () => {
  const r = run('init', freshDir(), '--base', '/static/js');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /workerUrl: '\/static\/js\/ringflate-worker\.js'/);
});

test('a second run with the same bytes says "already current" and exits 0 without rewriting', () => {
  const dir = freshDir();
  assert.equal(run('init', dir).code, 0);
  const dest = path.join(dir, 'ringflate-worker.js');
  const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
  fs.utimesSync(dest, old, old);
  const r = run('init', dir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /already current/);
  assert.equal(Math.round(fs.statSync(dest).mtimeMs), old.getTime(), 'the file was not written again');
});

test('a different existing file is kept and the exit status is 1 without --force; --force replaces it', () => {
  const dir = freshDir();
  const dest = path.join(dir, 'ringflate-worker.js');
  fs.writeFileSync(dest, '// an older worker\n');
  const r = run('init', dir);
  assert.equal(r.code, 1);
  assert.match(r.err, /exists and differs/);
  assert.match(r.err, /--force/);
  assert.equal(r.out, '');
  assert.equal(fs.readFileSync(dest, 'utf8'), '// an older worker\n', 'the file is untouched');
  const f = run('init', dir, '--force');
  assert.equal(f.code, 0, f.err);
  assert.match(f.out, /^Replaced /);
  assert.ok(fs.readFileSync(dest).equals(fs.readFileSync(WORKER)));
  assert.deepEqual(fs.readdirSync(dir), ['ringflate-worker.js'], 'no temporary file left');
});

test('a missing directory is a clear error with exit status 1, and nothing is created', () => {
  const missing = path.join(tmp, 'no-such-app', 'public');
  const r = run('init', missing);
  assert.equal(r.code, 1);
  assert.match(r.err, /does not exist/);
  assert.ok(r.err.includes(missing), 'names the directory');
  assert.equal(fs.existsSync(path.join(tmp, 'no-such-app')), false);
});

test('a path that is a file is refused', () => {
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'x');
  const r = run('init', file);
  assert.equal(r.code, 1);
  assert.match(r.err, /not a directory/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'x');
});

test('usage errors exit 2 and print the usage', () => {
  for (const args of [[], ['init'], ['init', 'a', 'b'], ['init', '--nope', 'x'], ['frobnicate']]) {
    const r = run(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /Usage: npx ringflate init <dir>/, args.join(' '));
  }
  const h = run('--help');
  assert.equal(h.code, 0);
  assert.match(h.out, /Usage:/);
});
