#!/usr/bin/env node
// Builds dist/ringflate-worker.js: one classic worker script with the
// WebAssembly engine inlined (deflated + base64), no import/export, no eval,
// no second request.
//
//   node worker/build.mjs [--features zlib-rs|miniz] [--opt Oz|O3|none] [--level 0-9] [--no-simd]
//                         [--pack zopfli|zlib] [--test-hooks] [--out dist/ringflate-worker.js]
// The options exist so the benchmark can compare build variants; the defaults
// are the shipped build. `--test-hooks` (browser tests only, written to
// dist/test-hooks/ unless --out says otherwise) adds a `debug` engine op that
// makes the module trap or report its memory; the shipped file never has it.
//
// Steps: cargo build (wasm32) → wasm-bindgen --target no-modules → short import and export names in the
// module and the glue (shortNames) → wasm-opt
// (npm `binaryen`) → raw deflate with zopfli (npm `@gfx/zopfli`; about 7 %
// smaller than zlib level 9, any inflater reads it) → base64 → glue + bootstrap
// in one function scope → esbuild minify. `--pack zlib` uses zlib level 9 instead. Between the two wasm-opt
// runs, functions that only trap lose their bodies (trapsOnly).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { filledBootstrap, slimGlue, workerSource } from './js/fill.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const features = opt('features', '');
const level = opt('opt', 'O3');
const testHooks = args.includes('--test-hooks');
const outFile = path.resolve(root, opt('out', testHooks ? 'dist/test-hooks/ringflate-worker.js' : 'dist/ringflate-worker.js'));
const compressLevel = opt('level', '');
// simd128 is on by default (measured +3–7 % throughput; needs Chrome 91, Firefox 89, Safari 16.4,
// below what DecompressionStream already requires except Chrome 80–90). `--no-simd` turns it off.
const simd = !args.includes('--no-simd');
const pack = opt('pack', 'zopfli');

function run(cmd, argv, env = {}) {
  execFileSync(cmd, argv, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
}

// wasm-bindgen's CLI must match the crate's pinned version exactly.
const cargoToml = fs.readFileSync(path.join(root, 'worker/Cargo.toml'), 'utf8');
const pinned = /wasm-bindgen = (?:\{ version = )?"=([^"]+)"/.exec(cargoToml)?.[1];
let cli = '';
try {
  cli = execFileSync('wasm-bindgen', ['--version'], { encoding: 'utf8' }).trim().split(' ')[1];
} catch {
  cli = 'not installed';
}
if (cli !== pinned) {
  console.error(`wasm-bindgen CLI is ${cli}, the crate pins ${pinned}.\n` +
    `Install the matching CLI: cargo install wasm-bindgen-cli --version ${pinned}  (or run .ci/setup)`);
  process.exit(1);
}

// zlib-rs is compiled at opt-level 2 for the WebAssembly build only (Cargo.toml keeps 3, for native builds and
// benches): 0.9 KB smaller gzipped, and no measured change in the browser (bench/README.md, build variants).
const cargoArgs = ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'ringflate',
  '--config', `profile.release.package.zlib-rs.opt-level=${process.env.RINGFLATE_ZLIB_OPT || 2}`];
if (features) cargoArgs.push('--no-default-features', '--features', features + (testHooks ? ',test-hooks' : ''));
else if (testHooks) cargoArgs.push('--features', 'test-hooks');
const cargoEnv = {};
if (compressLevel) cargoEnv.RINGFLATE_LEVEL = compressLevel;
if (simd) cargoEnv.CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS = '-C target-feature=+simd128';
run('cargo', cargoArgs, cargoEnv);

const work = path.join(root, 'target/ringflate-build');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
run('wasm-bindgen', [
  '--target', 'no-modules', '--no-typescript', '--out-dir', work, '--out-name', 'engine',
  path.join(root, 'target/wasm32-unknown-unknown/release/ringflate.wasm'),
]);
const bgWasm = path.join(work, 'engine_bg.wasm');
const named = shortNames(fs.readFileSync(bgWasm), fs.readFileSync(path.join(work, 'engine.js'), 'utf8'));
fs.writeFileSync(bgWasm, named.wasm);
if (level !== 'none') {
  const wasmOpt = path.join(root, 'node_modules/.bin/wasm-opt');
  const optimize = () => run(wasmOpt, [`-${level}`, '--enable-bulk-memory', '--enable-nontrapping-float-to-int',
    '--enable-sign-ext', '--enable-reference-types', '--enable-mutable-globals', '--enable-multivalue',
    ...(simd ? ['--enable-simd'] : []),
    // The target_features section is for linkers only; --converge repeats the passes while they still shrink the
    // module (same passes, same level).
    '--strip-debug', '--strip-producers', '--strip-target-features', '--converge', bgWasm, '-o', bgWasm]);
  optimize();
  // Panic paths become plain traps (see trapsOnly); optimizing again drops their now unused arguments at every
  // call site, and the callers that thereby become trap-only are found in the next round.
  for (let round = 0; round < 4 && (await trapsOnly(bgWasm, simd)) > 0; round++) optimize();
}
const wasm = fs.readFileSync(bgWasm);
const packed = pack === 'zlib' ? zlib.deflateRawSync(wasm, { level: 9, memLevel: 9 }) : await zopfliDeflate(wasm);
if (!zlib.inflateRawSync(packed).equals(wasm)) throw new Error('packed WebAssembly does not inflate to the module');
const glue = slimGlue(named.glue);
const bootstrap = filledBootstrap(packed.toString('base64'));
const source = workerSource(glue, bootstrap);
const { code } = transformSync(source, { minify: true, target: 'es2018', charset: 'ascii', legalComments: 'none' });

// The file must stay a classic script that needs no eval and no other request.
for (const [bad, why] of [[/\bimport\s*[({'"*]|\bexport\s/, 'module syntax'], [/\beval\(|new Function\b/, 'eval'],
  [/\bblob:/, 'blob: URL'], [/\bimportScripts\b/, 'importScripts']]) {
  if (bad.test(code)) throw new Error(`built worker contains ${why}`);
}
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, code);
const size = { raw: Buffer.byteLength(code), gzip: zlib.gzipSync(code, { level: 9 }).length,
  wasm: wasm.length, wasmDeflated: packed.length, pack, features: features || 'default', opt: level, level: compressLevel || 'default', simd };
fs.writeFileSync(outFile.replace(/\.js$/, '.size.json'), JSON.stringify(size, null, 2) + '\n');
console.log(`${path.relative(root, outFile)}: ${size.raw} bytes, ${size.gzip} gzipped (wasm ${size.wasm} → ${size.wasmDeflated} deflated)`);

// The shipped build (no variant options) must stay within 60 KiB gzipped by any gzip tool. node's zlib (measured
// here, and what zlib-based servers send) gives 270–360 B less than `gzip -9` (GNU gzip's own deflate) on this file,
// so the check keeps 512 B for the tool: node's count must stay within 60 KiB less that margin.
const SIZE_LIMIT = 61440;
const TOOL_MARGIN = 512;
const isVariant = ['features', 'opt', 'level', 'pack', 'no-simd', 'test-hooks'].some((n) => args.includes(`--${n}`));
if (!isVariant && size.gzip > SIZE_LIMIT - TOOL_MARGIN) {
  console.error(`the worker is over its gzip budget (${SIZE_LIMIT} B less ${TOOL_MARGIN} B for the tool, by node's ` +
    `zlib level 9) by ${size.gzip - (SIZE_LIMIT - TOOL_MARGIN)} bytes`);
  process.exit(1);
}

/**
 * Short import and export names, in the module and in the glue alike. wasm-bindgen names each import
 * `__wbg_<name>_<16 hex digits>` from module `./engine_bg.js`, and these names stood twice in the file (in the
 * module and as the glue's import keys); the glue reaches every export as `wasm.<name>`. Imports become `a`.`a`,
 * `a`.`b`, …, exports likewise; an export the glue never reaches is dropped. Throws unless every name is found
 * exactly where it is expected, so a different glue fails the build instead of making a broken worker.
 */
function shortNames(wasm, glue) {
  const short = (i) => (i < 52 ? '' : short(Math.floor(i / 52) - 1)) + 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'[i % 52];
  const fail = (why) => { throw new Error(`shortening the module's names: ${why}`); };
  let pos = 0;
  const u32 = () => { let r = 0, shift = 0, b; do { b = wasm[pos++]; r |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80); return r >>> 0; };
  const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return Buffer.from(out); };
  const name = () => { const n = u32(); const s = wasm.toString('utf8', pos, pos + n); pos += n; return s; };
  const str = (s) => Buffer.concat([leb(Buffer.byteLength(s)), Buffer.from(s)]);
  const limits = () => { const flags = wasm[pos++]; u32(); if (flags & 1) u32(); };
  const sections = [wasm.subarray(0, 8)];
  pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos++];
    const size = u32();
    const end = pos + size;
    const start = pos;
    let payload = wasm.subarray(start, end);
    if (id === 2) { // imports
      const parts = [];
      const count = u32();
      parts.push(leb(count));
      for (let i = 0; i < count; i++) {
        const mod = name();
        const field = name();
        const descStart = pos;
        const kind = wasm[pos++];
        if (kind === 0) u32();
        else if (kind === 1) { pos++; limits(); }
        else if (kind === 2) limits();
        else if (kind === 3) pos += 2;
        else fail(`import kind ${kind}`);
        if (mod !== './engine_bg.js') fail(`import module ${mod}`);
        const key = new RegExp(`(^|[^\\w$])${field}(?=: function)`, 'g');
        if ((glue.match(new RegExp(`\\b${field}\\b`, 'g')) || []).length !== 1 || (glue.match(key) || []).length !== 1) {
          fail(`import ${field} is not one key of the glue`);
        }
        glue = glue.replace(key, `$1${short(i)}`);
        parts.push(str('a'), str(short(i)), wasm.subarray(descStart, pos));
      }
      const from = '"./engine_bg.js": import0,';
      if (glue.split(from).length !== 2) fail('the glue has no single import object');
      glue = glue.replace(from, 'a: import0,');
      payload = Buffer.concat(parts);
    } else if (id === 7) { // exports
      const parts = [];
      const count = u32();
      let kept = 0;
      for (let i = 0; i < count; i++) {
        const field = name();
        const descStart = pos;
        pos++;
        u32();
        const uses = new RegExp(`\\bwasm\\.${field.replace(/\$/g, '\\$')}\\b`, 'g');
        if (!uses.test(glue)) continue;
        const to = `wasm.${short(kept)}`;
        glue = glue.replace(uses, () => to);
        parts.push(str(short(kept)), wasm.subarray(descStart, pos));
        kept++;
      }
      payload = Buffer.concat([leb(kept), ...parts]);
    }
    if (pos !== end && (id === 2 || id === 7)) fail(`section ${id} did not parse to its end`);
    pos = end;
    sections.push(Buffer.from([id]), leb(payload.length), payload);
  }
  // Every export the glue uses now has a short name; nothing else may reach the exports object.
  const left = (glue.match(/\bwasm\.[A-Za-z_$][\w$]*/g) || []).filter((m) => !/^wasm\.[a-zA-Z]{1,2}$/.test(m));
  if (left.length) fail(`the glue still uses ${left.join(', ')}`);
  if (/\bwasm\[/.test(glue)) fail('the glue indexes the exports');
  return { wasm: Buffer.concat(sections), glue };
}

/**
 * Replaces the body of every function that always traps with a bare `unreachable`, and returns how many changed.
 * Such a function (no result, its body cannot complete, no branch, call or throw, only local, global and memory
 * effects on the way) is a panic path: with the module's panic handler, a trap, after arguments (message, source
 * location, values) were stored for a handler that ignores them. Those stores are all it drops: the trap is the
 * same, and after any trap the bootstrap makes a new instance, so nothing written just before one is ever read.
 * This is what Rust's `panic_immediate_abort` gives on nightly.
 */
async function trapsOnly(file, simd) {
  const { default: binaryen } = await import('binaryen');
  const mod = binaryen.readBinary(fs.readFileSync(file));
  const F = binaryen.Features;
  mod.setFeatures(F.BulkMemory | F.BulkMemoryOpt | F.CallIndirectOverlong | F.NontrappingFPToInt | F.SignExt |
    F.ReferenceTypes | F.MutableGlobals | F.Multivalue | (simd ? F.SIMD128 : 0));
  const S = binaryen.SideEffects;
  const allowed = S.ReadsLocal | S.WritesLocal | S.ReadsGlobal | S.WritesGlobal | S.ReadsMemory | S.WritesMemory |
    S.ImplicitTrap;
  const trapping = [];
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const f = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (!f.body || f.results !== binaryen.none || binaryen.getExpressionType(f.body) !== binaryen.unreachable) continue;
    if (binaryen.getExpressionId(f.body) === binaryen.UnreachableId) continue; // already a bare trap
    if (binaryen.getSideEffects(f.body, mod) & ~allowed) continue;
    trapping.push(f);
  }
  for (const f of trapping) {
    mod.removeFunction(f.name);
    mod.addFunction(f.name, f.params, f.results, [], mod.unreachable());
  }
  if (!mod.validate()) throw new Error('trapsOnly: the module no longer validates');
  if (trapping.length) fs.writeFileSync(file, mod.emitBinary());
  mod.dispose();
  return trapping.length;
}

/** Raw deflate of `data` by zopfli (deterministic; 15 iterations take about 2 s here). */
function zopfliDeflate(data) {
  const zopfli = createRequire(import.meta.url)('@gfx/zopfli');
  return new Promise((resolve, reject) => {
    zopfli.deflate(data, { numiterations: 15 }, (err, out) => (err ? reject(err) : resolve(Buffer.from(out))));
  });
}
