// The npm package as a user gets it: `npm pack` of host-js (its prepack builds the worker and the host files),
// the tarball installed into an empty app from the tarball alone, then: the file list, `import`, `require`,
// `ringflate/package.json` and `ringflate/worker` resolution, the classic script, the types (tsc, node16 ESM and
// CommonJS resolution and bundler resolution), the LICENSE, the README's links, and `npx ringflate init`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { ROOT } from './lib/bundle.mjs';
import { packAndInstall } from './lib/pack.mjs';

const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'host-js/package.json'), 'utf8'));
let tmp;
let pkg;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-package-'));
  pkg = packAndInstall(tmp);
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs node in the app directory; returns stdout (throws with stderr on failure). */
function nodeIn(args, opts = {}) {
  try {
    return execFileSync(process.execPath, args, { cwd: pkg.app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  } catch (e) {
    throw new Error(`node ${args.join(' ')} failed:\n${e.stdout}\n${e.stderr}`);
  }
}

/** Every file package.json points at (exports, main, module, types, unpkg, bin). */
function declaredFiles(p) {
  const targets = new Set();
  const walk = (v) => {
    if (typeof v === 'string') targets.add(v.replace(/^\.\//, ''));
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(p.exports);
  walk(p.bin);
  for (const k of ['main', 'module', 'types', 'unpkg']) walk(p[k]);
  return targets;
}

test('the tarball holds the worker, the ES module, CommonJS and classic builds, their types, LICENSE and README', () => {
  const files = new Set(pkg.files);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/ringflate.mjs', 'dist/ringflate-worker.js',
    'dist/ringflate-host.mjs', 'dist/ringflate-host.cjs', 'dist/ringflate-host.js',
    'dist/ringflate-host.d.ts', 'dist/ringflate-host.d.cts', 'dist/docs/PROTOCOL.md']) {
    assert.ok(files.has(f), `${f} is in the tarball (has: ${pkg.files.join(', ')})`);
  }
  for (const f of declaredFiles(PKG)) assert.ok(files.has(f), `${f}, named in package.json, is in the tarball`);
  // Nothing else: no sources, no tests, no stray build output.
  const allowed = (f) => declaredFiles(PKG).has(f) || ['package.json', 'README.md', 'LICENSE', 'dist/size.json'].includes(f) ||
    /^dist\/docs\/[\w-]+\.md$/.test(f) || /^dist\/[\w/-]+\.d\.c?ts$/.test(f);
  assert.deepEqual(pkg.files.filter((f) => !allowed(f)), [], 'no unexpected files in the tarball');
});

test('the packed worker is the one worker/build.mjs built, and within its budget', () => {
  const packed = fs.readFileSync(path.join(pkg.installed, 'dist/ringflate-worker.js'));
  assert.ok(packed.equals(fs.readFileSync(path.join(ROOT, 'dist/ringflate-worker.js'))), 'same bytes as dist/ringflate-worker.js');
  const text = packed.toString('utf8');
  assert.ok(!/^\s*(import|export)\s/m.test(text), 'a classic script (no import/export), as new Worker(url) without options needs');
  const size = JSON.parse(fs.readFileSync(path.join(ROOT, 'dist/ringflate-worker.size.json'), 'utf8'));
  assert.equal(size.raw, packed.length, 'the size file describes this worker');
  assert.ok(size.gzip <= 61440, `worker ${size.gzip} B gzipped, within 60 KiB`);
});

test('host builds are within their min+gzip budget (size.json written by the build)', () => {
  const sizes = JSON.parse(fs.readFileSync(path.join(pkg.installed, 'dist/size.json'), 'utf8'));
  for (const f of ['ringflate-host.mjs', 'ringflate-host.cjs', 'ringflate-host.js']) {
    assert.ok(sizes[f], `${f} measured`);
    assert.equal(sizes[f].raw, fs.statSync(path.join(pkg.installed, 'dist', f)).size, `${f}: size.json matches the file`);
    assert.ok(sizes[f].gzip <= sizes[f].budget, `${f}: ${sizes[f].gzip} <= ${sizes[f].budget}`);
  }
});

test('import, require, ringflate/package.json and ringflate/worker resolve in the app', () => {
  const esm = JSON.parse(nodeIn(['--input-type=module', '-e', `
    import * as m from 'ringflate';
    let thrown = null;
    try { m.startReplay({}); } catch (e) { thrown = e.message; }
    console.log(JSON.stringify({ keys: Object.keys(m), type: typeof m.startReplay, thrown,
      worker: import.meta.resolve('ringflate/worker'), pkg: import.meta.resolve('ringflate/package.json'),
      main: import.meta.resolve('ringflate') }));`]));
  assert.equal(esm.type, 'function', 'import gives startReplay');
  assert.match(esm.thrown, /^ringflate: startReplay needs workerUrl/, 'the real host code runs');
  assert.match(esm.main, /node_modules\/ringflate\/dist\/ringflate-host\.mjs$/);
  assert.match(esm.worker, /node_modules\/ringflate\/dist\/ringflate-worker\.js$/);
  assert.match(esm.pkg, /node_modules\/ringflate\/package\.json$/);

  const cjs = JSON.parse(nodeIn(['-e', `
    const m = require('ringflate');
    let thrown = null;
    try { m.startReplay({}); } catch (e) { thrown = e.message; }
    console.log(JSON.stringify({ keys: Object.keys(m), type: typeof m.startReplay, thrown,
      file: require.resolve('ringflate'), worker: require.resolve('ringflate/worker'),
      version: require('ringflate/package.json').version }));`]));
  assert.deepEqual(cjs.keys, esm.keys, 'require gives the same exports as import (not {})');
  assert.equal(cjs.type, 'function');
  assert.match(cjs.thrown, /^ringflate: startReplay needs workerUrl/);
  assert.match(cjs.file, /dist\/ringflate-host\.cjs$/, 'require loads the CommonJS build');
  assert.match(cjs.worker, /dist\/ringflate-worker\.js$/);
  assert.equal(cjs.version, PKG.version);
  const cjsText = fs.readFileSync(path.join(pkg.installed, 'dist/ringflate-host.cjs'), 'utf8');
  assert.ok(!/^\s*export\s/m.test(cjsText) && /module\.exports/.test(cjsText), 'a real CommonJS file');

  // Every export target resolves (nothing in package.json points at a missing file).
  for (const exp of Object.keys(PKG.exports)) {
    const spec = exp === '.' ? 'ringflate' : `ringflate/${exp.slice(2)}`;
    const r = nodeIn(['--input-type=module', '-e', `console.log(import.meta.resolve(${JSON.stringify(spec)}))`]).trim();
    assert.ok(fs.existsSync(new URL(r)), `${spec} → ${r} exists`);
  }
});

test('the classic script sets a global ringflate with the same API', () => {
  const file = path.join(pkg.installed, 'dist/ringflate-host.js');
  const ctx = vm.createContext({});
  vm.runInContext(fs.readFileSync(file, 'utf8'), ctx, { filename: file });
  assert.equal(typeof ctx.ringflate?.startReplay, 'function');
  assert.throws(() => ctx.ringflate.startReplay({}), /ringflate: startReplay needs workerUrl/);
  assert.equal(nodeIn(['-e', "console.log(require.resolve('ringflate/host.js'))"]).trim(), file);
});

test('the shipped types compile for ES module, CommonJS and bundler resolution', () => {
  const src = path.join(pkg.app, 'types');
  fs.mkdirSync(src, { recursive: true });
  const usage = fs.readFileSync(path.join(ROOT, 'tests/types/usage.ts'), 'utf8');
  fs.writeFileSync(path.join(src, 'esm.mts'), usage);
  fs.writeFileSync(path.join(src, 'cjs.cts'), [
    "import ringflate = require('ringflate');",
    "const replay: ringflate.Replay = ringflate.startReplay({ workerUrl: '/ringflate-worker.js', endpoint: '/ingest' });",
    'const ok: boolean = replay.captureError(new Error("x"));',
    'void ok;',
    '// @ts-expect-error workerUrl is required',
    "ringflate.startReplay({ endpoint: '/ingest' });",
  ].join('\n'));
  fs.writeFileSync(path.join(src, 'bundler.ts'), usage);
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const compile = (name, options, files) => {
    const cfg = path.join(pkg.app, `tsconfig.${name}.json`);
    fs.writeFileSync(cfg, JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'es2020', lib: ['es2020', 'dom'], types: [], ...options },
      files: files.map((f) => path.join(src, f)),
    }));
    const r = spawnSync(process.execPath, [tsc, '-p', cfg, '--traceResolution'], { cwd: pkg.app, encoding: 'utf8' });
    const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l));
    assert.deepEqual(errors, [], `${name}: tsc errors`);
    assert.equal(r.status, 0, `${name}: tsc exit status`);
    return [...r.stdout.matchAll(/Module name 'ringflate' was successfully resolved to '([^']+)'/g)].map((m) => path.basename(m[1]));
  };
  assert.deepEqual(compile('node16', { module: 'node16', moduleResolution: 'node16' }, ['esm.mts', 'cjs.cts']).sort(),
    ['ringflate-host.d.cts', 'ringflate-host.d.ts'], 'node16: the .cts file gets .d.cts, the .mts file .d.ts');
  assert.deepEqual(compile('bundler', { module: 'esnext', moduleResolution: 'bundler' }, ['bundler.ts']), ['ringflate-host.d.ts']);

  // Every other entry with types (e.g. ringflate/sentry) resolves to them and they compile, its peers installed.
  if (!fs.existsSync(path.join(pkg.app, 'node_modules/@sentry'))) {
    fs.symlinkSync(path.join(ROOT, 'node_modules/@sentry'), path.join(pkg.app, 'node_modules/@sentry'), 'dir');
  }
  const typed = Object.entries(PKG.exports).filter(([exp, v]) => exp !== '.' && v && typeof v === 'object' && v.import?.types);
  for (const [exp, v] of typed) {
    const spec = `ringflate/${exp.slice(2)}`;
    const name = exp.slice(2).replace(/\W/g, '_');
    fs.writeFileSync(path.join(src, `${name}.mts`), `import * as m from '${spec}';\nconst keys: string[] = Object.keys(m);\nvoid keys;\n`);
    const cfg = path.join(pkg.app, `tsconfig.${name}.json`);
    fs.writeFileSync(cfg, JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'es2020', lib: ['es2020', 'dom'], types: [], module: 'node16', moduleResolution: 'node16' },
      files: [path.join(src, `${name}.mts`)],
    }));
    const r = spawnSync(process.execPath, [tsc, '-p', cfg, '--traceResolution'], { cwd: pkg.app, encoding: 'utf8' });
    assert.deepEqual(r.stdout.split('\n').filter((l) => /error TS/.test(l)), [], `${spec}: tsc errors`);
    const to = new RegExp(`Module name '${spec}' was successfully resolved to '([^']+)'`).exec(r.stdout)?.[1];
    assert.equal(to && path.relative(pkg.installed, to), v.import.types.replace(/^\.\//, ''), `${spec} resolves to its types`);
  }
});

test('LICENSE is MIT, the same file as the repository\'s, and package.json says so', () => {
  const lic = fs.readFileSync(path.join(pkg.installed, 'LICENSE'), 'utf8');
  assert.equal(lic, fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'));
  assert.match(lic, /^MIT License/);
  assert.equal(PKG.license, 'MIT');
});

test('the README has no link the registry page cannot follow', () => {
  const md = fs.readFileSync(path.join(pkg.installed, 'README.md'), 'utf8');
  const links = [...md.matchAll(/\]\(([^)\s]+)[^)]*\)/g), ...md.matchAll(/<(?:a|img)\s[^>]*(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
  for (const l of links) {
    assert.ok(/^(https:\/\/|#)/.test(l), `README link ${l} is absolute or an anchor`);
    const inPackage = /^https:\/\/unpkg\.com\/ringflate(?:@[^/]+)?\/(.+)$/.exec(l)?.[1];
    if (inPackage) assert.ok(pkg.files.includes(inPackage), `README link ${l}: ${inPackage} is in the package`);
  }
});

test('npx ringflate init, from the installed package, puts the worker in public/', () => {
  const pub = path.join(pkg.app, 'public');
  fs.mkdirSync(pub);
  assert.ok(fs.existsSync(path.join(pkg.app, 'node_modules/.bin/ringflate')), 'npm linked the ringflate command');
  // npx runs the installed package's command (--no-install: never anything from the registry).
  const npx = (...args) => spawnSync('npx', ['--no-install', 'ringflate', ...args], { cwd: pkg.app, encoding: 'utf8' });
  const r = npx('init', 'public');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.readFileSync(path.join(pub, 'ringflate-worker.js')).equals(fs.readFileSync(path.join(pkg.installed, 'dist/ringflate-worker.js'))));
  assert.match(r.stdout, /Content-Security-Policy: default-src 'none'; script-src 'self' 'wasm-unsafe-eval'/);
  const again = npx('init', 'public');
  assert.equal(again.status, 0);
  assert.match(again.stdout, /already current/);
  const missing = npx('init', 'static');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /static does not exist/);
});
