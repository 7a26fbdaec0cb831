#!/usr/bin/env node
// Build decisions by measurement: builds the worker in several variants (deflate backend,
// compression level, wasm SIMD, wasm-opt level) with worker/build.mjs and measures each in
// headless Chromium under Sentry's protocol, against fflate (Sentry's worker) and
// CompressionStream in the same run. Writes bench/results/variants.md and variants.json.
//
//   node bench/variants.mjs [--quick] [--reps N] [--files d1,d4] [--only base,z1,...] [--rebuild] [--out name]
//   (also: node bench/run.mjs --variants ...)
//
// The variants are built from the committed sources (git HEAD) in a private copy of the
// tree, bench/.variants/tree, with its own cargo target folder, so the builds neither race
// with nor overwrite anybody's target/ or dist/. Built files are kept in bench/.variants/
// and reused while HEAD's worker sources and the options are unchanged.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { runBrowserBench, summarize } from './lib/browser-bench.mjs';
import { sentryWorkerSource, compressionStreamWorkerSource } from './lib/contestants.mjs';
import { machineInfo, corpusFiles, fmt, ratio, cli } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const variantsDir = path.join(root, 'bench/.variants');
const tree = path.join(variantsDir, 'tree');

// One factor at a time around the shipped default (zlib-rs, level 6, O3, no SIMD), plus
// combinations that the single factors suggest.
export const VARIANTS = [
  { name: 'base', features: 'zlib-rs', level: 6, opt: 'O3', simd: false },
  { name: 'z1', features: 'zlib-rs', level: 1, opt: 'O3', simd: false },
  { name: 'z2', features: 'zlib-rs', level: 2, opt: 'O3', simd: false },
  { name: 'z3', features: 'zlib-rs', level: 3, opt: 'O3', simd: false },
  { name: 'z4', features: 'zlib-rs', level: 4, opt: 'O3', simd: false },
  { name: 'z5', features: 'zlib-rs', level: 5, opt: 'O3', simd: false },
  { name: 'z6-simd', features: 'zlib-rs', level: 6, opt: 'O3', simd: true },
  { name: 'z6-Oz', features: 'zlib-rs', level: 6, opt: 'Oz', simd: false },
  { name: 'm6', features: 'miniz', level: 6, opt: 'O3', simd: false },
  { name: 'm1', features: 'miniz', level: 1, opt: 'O3', simd: false },
  { name: 'm6-Oz', features: 'miniz', level: 6, opt: 'Oz', simd: false },
  { name: 'z2-simd', features: 'zlib-rs', level: 2, opt: 'O3', simd: true },
  // `--opt` only picks the wasm-opt level; rustc's opt-level comes from the release profile (3).
  // These also compile the Rust code for size (CARGO_PROFILE_RELEASE_OPT_LEVEL=z).
  { name: 'z6-rz', features: 'zlib-rs', level: 6, opt: 'Oz', simd: false, rustOpt: 'z' },
  { name: 'm6-rz', features: 'miniz', level: 6, opt: 'Oz', simd: false, rustOpt: 'z' },
  { name: 'z6-simd-rz', features: 'zlib-rs', level: 6, opt: 'Oz', simd: true, rustOpt: 'z' },
  { name: 'm6-simd', features: 'miniz', level: 6, opt: 'O3', simd: true },
];

const describe = (v) => `${v.features}, level ${v.level}, wasm-opt ${v.opt}${v.rustOpt ? `, rustc opt-level ${v.rustOpt}` : ''}${v.simd ? ', simd128' : ''}`;

function headCommit() {
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
}

/** The committed worker sources in a private tree (refreshed when HEAD's sources change). */
function prepareTree() {
  const paths = ['Cargo.toml', 'Cargo.lock', 'worker'];
  const treeHash = execFileSync('git', ['rev-parse', ...paths.map((p) => `HEAD:${p}`)], { cwd: root, encoding: 'utf8' })
    .trim().replace(/\s+/g, ',');
  const stampFile = path.join(tree, '.sources');
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === treeHash) return treeHash;
  fs.mkdirSync(tree, { recursive: true });
  fs.rmSync(path.join(tree, 'worker'), { recursive: true, force: true });
  const tar = execFileSync('git', ['archive', '--format=tar', 'HEAD', ...paths], { cwd: root, maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', tree], { input: tar });
  const nm = path.join(tree, 'node_modules');
  if (!fs.existsSync(nm)) fs.symlinkSync(path.join(root, 'node_modules'), nm, 'dir');
  fs.writeFileSync(stampFile, treeHash);
  return treeHash;
}

function build(v, sources, rebuild) {
  const out = path.join(variantsDir, `${v.name}.js`);
  const stamp = crypto.createHash('sha256').update(JSON.stringify({ sources, v })).digest('hex');
  const stampFile = `${out}.stamp`;
  if (!rebuild && fs.existsSync(out) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) {
    console.log(`  ${v.name}: up to date (${describe(v)})`);
    return out;
  }
  console.log(`  ${v.name}: building (${describe(v)})`);
  const args = ['worker/build.mjs', '--features', v.features, '--opt', v.opt, '--level', String(v.level), '--out', out];
  if (!v.simd) args.push('--no-simd');
  const t = Date.now();
  execFileSync(process.execPath, args, { cwd: tree, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CARGO_TARGET_DIR: path.join(tree, 'target'),
      ...(v.rustOpt ? { CARGO_PROFILE_RELEASE_OPT_LEVEL: v.rustOpt } : {}) } });
  fs.writeFileSync(stampFile, stamp);
  console.log(`  ${v.name}: built in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  return out;
}

export async function main(argv) {
  const { flag, opt } = cli(argv);
  const quick = flag('quick');
  const reps = Number(opt('reps', quick ? 1 : 3));
  const corpusDir = path.resolve(root, opt('corpus', 'tests/corpus'));
  const files = corpusFiles(corpusDir, opt('files', ''));
  const only = opt('only', '').split(',').filter(Boolean);
  const variants = only.length ? VARIANTS.filter((v) => only.includes(v.name)) : VARIANTS;
  if (!variants.length) throw new Error(`no variants named ${only.join(', ')}; known: ${VARIANTS.map((v) => v.name).join(', ')}`);
  const started = new Date();
  const machine = machineInfo();

  console.log(`== building ${variants.length} variants from HEAD in bench/.variants/tree`);
  const commit = headCommit();
  const sources = prepareTree();
  for (const v of variants) {
    v.file = build(v, sources, flag('rebuild'));
    const code = fs.readFileSync(v.file);
    const size = JSON.parse(fs.readFileSync(v.file.replace(/\.js$/, '.size.json'), 'utf8'));
    v.size = { raw: code.length, gzip: zlib.gzipSync(code, { level: 9 }).length, wasm: size.wasm };
  }

  const contestants = [
    { name: 'fflate', label: "fflate Zlib (Sentry's worker)", feed: 'sentry', source: sentryWorkerSource },
    { name: 'cstream', label: "CompressionStream('deflate')", feed: 'sentry', source: compressionStreamWorkerSource },
    ...variants.map((v) => ({ name: v.name, label: v.name, feed: 'sentry', wasm: true, source: () => fs.readFileSync(v.file, 'utf8') })),
  ];
  console.log(`\n== browser: ${contestants.length} contestants × ${files.length} files × ${reps} repetitions`);
  const { runs, files: info } = await runBrowserBench({ root, corpusDir, files, contestants, reps, passes: ['stream'] });
  const summary = summarize(runs, contestants, info);

  // Totals over the corpus: bytes / sum of the per-file median times.
  const total = (name) => {
    const rows = summary.filter((s) => s.contestant === name);
    const bytes = rows.reduce((n, r) => n + r.inputBytes, 0);
    return {
      mbps: bytes / 1e6 / (rows.reduce((n, r) => n + r.e2eMs, 0) / 1000),
      compressed: rows.reduce((n, r) => n + r.compressed, 0),
      readyMs: Math.max(...rows.map((r) => r.readyMs)),
    };
  };
  const ff = total('fflate');
  const cs = total('cstream');
  const row = (name) => summary.filter((s) => s.contestant === name);
  const md = ['# ringflate build variants', ''];
  md.push(`Produced by \`node bench/variants.mjs${argv.length ? ' ' + argv.join(' ') : ''}\` — see bench/README.md.`, '');
  md.push(`- date: ${started.toISOString()}`);
  md.push(`- machine: ${machine.cpu}, ${machine.cores} cores; ${machine.chromium}; load average at start ${machine.loadavg}`);
  md.push(`- worker sources: commit ${commit.slice(0, 7)}; each variant built with \`node worker/build.mjs --features F --level L --opt O [--no-simd]\` (rustc opt-level z through \`CARGO_PROFILE_RELEASE_OPT_LEVEL=z\` where noted)`);
  md.push(`- browser: Sentry's protocol, one addEvent message per event, finish every 5 s of event time; ${reps} repetition(s), median; every output inflated and compared`);
  md.push('', 'MB/s per file with the ratio against fflate measured in the same run; "all" = total stream bytes / sum of the per-file median times. Compressed bytes are summed over the corpus (ratio against fflate: lower is better). Targets: ≥ 3× fflate and ≥ 2× CompressionStream on every file, bytes ≤ fflate, gzip ≤ 61,440 B.', '');
  md.push(`| variant | build | raw B | gzip B | ${files.map((f) => `${f.split('-')[0]} MB/s`).join(' | ')} | all MB/s | ×CompressionStream (worst file) | compressed B (×fflate) | ready ms | meets all targets |`);
  md.push(`|---|---|---:|---:|${files.map(() => '---:').join('|')}|---:|---:|---:|---:|---|`);
  const ffRows = row('fflate');
  const csRows = row('cstream');
  const refLine = (name, label, t) => {
    const rows = row(name);
    md.push(`| ${label} | (peer) | | | ${rows.map((r) => `${fmt(r.mbps, 2)} (${ratio(r.mbps, ffRows.find((x) => x.file === r.file).mbps)})`).join(' | ')} | ${fmt(t.mbps, 2)} (${ratio(t.mbps, ff.mbps)}) | | ${fmt(t.compressed, 0)} (${ratio(t.compressed, ff.compressed)}) | ${fmt(t.readyMs, 1)} | |`);
  };
  refLine('fflate', "fflate (Sentry's worker)", ff);
  refLine('cstream', "CompressionStream('deflate')", cs);
  const results = [];
  for (const v of variants) {
    const rows = row(v.name);
    const t = total(v.name);
    const perFile = rows.map((r) => {
      const f = ffRows.find((x) => x.file === r.file);
      const c = csRows.find((x) => x.file === r.file);
      return { file: r.file, mbps: r.mbps, vsF: r.mbps / f.mbps, vsC: r.mbps / c.mbps, bytes: r.compressed / f.compressed };
    });
    const worstC = Math.min(...perFile.map((p) => p.vsC));
    const meets = perFile.every((p) => p.vsF >= 3 && p.vsC >= 2 && p.bytes <= 1) && v.size.gzip <= 61440;
    results.push({ ...v, perFile, total: t, meets });
    md.push(`| ${v.name} | ${describe(v)} | ${v.size.raw} | ${v.size.gzip} | ${perFile.map((p) => `${fmt(p.mbps, 2)} (${fmt(p.vsF, 2)}×)`).join(' | ')} | ` +
      `${fmt(t.mbps, 2)} (${ratio(t.mbps, ff.mbps)}) | ${fmt(worstC, 2)}× | ${fmt(t.compressed, 0)} (${ratio(t.compressed, ff.compressed)}) | ${fmt(t.readyMs, 1)} | ${meets ? 'yes' : 'no'} |`);
  }
  md.push('', 'Per-file compressed bytes (ratio against fflate):', '');
  md.push(`| variant | ${files.join(' | ')} |`, `|---|${files.map(() => '---:').join('|')}|`);
  for (const name of ['fflate', 'cstream', ...variants.map((v) => v.name)]) {
    md.push(`| ${name} | ${row(name).map((r) => `${fmt(r.compressed, 0)} (${ratio(r.compressed, ffRows.find((x) => x.file === r.file).compressed)})`).join(' | ')} |`);
  }
  const text = md.join('\n') + '\n';
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const outName = opt('out', 'variants');
  fs.writeFileSync(path.join(root, `bench/results/${outName}.md`), text);
  fs.writeFileSync(path.join(root, `bench/results/${outName}.json`),
    JSON.stringify({ date: started.toISOString(), machine, commit, reps, files, variants: results, summary, fflate: ff, cstream: cs }, null, 1) + '\n');
  console.log('\n' + text);
  console.log(`wrote bench/results/${outName}.md and ${outName}.json (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
