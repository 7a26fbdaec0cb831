#!/usr/bin/env node
// ringflate benchmark suite: native criterion bench + browser bench against the
// peers, in one go. See bench/README.md.
//
//   node bench/run.mjs [--quick] [--reps N] [--files d1,d4] [--no-native] [--no-browser] [--no-mainthread]
//                      [--speed N] [--ringflate dist/ringflate-worker.js] [--chromium-args '--js-flags=…']
//                      [--variants [variant options]]
//
// Writes bench/results/latest.md and bench/results/latest.json and prints the tables.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { runBrowserBench, summarize } from './lib/browser-bench.mjs';
import { runMainThread, mainThreadTable, CONTESTANTS as MAIN_HOSTS, CONTROL as MAIN_CONTROL } from './mainthread.mjs';
import { standardContestants } from './lib/contestants.mjs';
import { machineInfo, corpusFiles, fmt, ratio, cli } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);

if (argv.includes('--variants')) {
  const { main } = await import('./variants.mjs');
  await main(argv.filter((a) => a !== '--variants'));
  process.exit(0);
}

const { flag, opt } = cli(argv);
const quick = flag('quick');
const reps = Number(opt('reps', quick ? 1 : 5));
const corpusDir = path.resolve(root, opt('corpus', 'tests/corpus'));
const files = corpusFiles(corpusDir, opt('files', ''));
const ringflateFile = opt('ringflate', 'dist/ringflate-worker.js');
const outDir = path.join(root, 'bench/results');
const outName = opt('out', 'latest');
// The paced main-thread bench (bench/mainthread.mjs): recorded pace sped up this many times.
const speed = Number(opt('speed', quick ? 32 : 8));

// Targets (bench/README.md "Targets").
const TARGET = { vsFflate: 3, vsCstream: 2, readyMs: 50, finish60Ms: 5, gzipBytes: 60 * 1024, bufferVsSession: 1.1,
  engineMainVsSentry: 0.5, dropInVsStored: 0.9, wasmVsNative: 0.6, wasmVsNativeFile: 'd1' };

async function runNative() {
  console.log(`\n== native: cargo bench -p ringflate --bench corpus${quick ? ' (quick)' : ''}`);
  const criterionHome = path.join(root, 'target/criterion');
  const env = { ...process.env, CRITERION_HOME: criterionHome, RINGFLATE_CORPUS: corpusDir,
    RINGFLATE_BENCH_FILES: files.join(','), RINGFLATE_BENCH_QUICK: quick ? '1' : '0' };
  const out = await new Promise((resolve, reject) => {
    const p = spawn('cargo', ['bench', '-p', 'ringflate', '--bench', 'corpus'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let errText = '';
    readline.createInterface({ input: p.stdout }).on('line', (line) => {
      text += line + '\n';
      if (/thrpt:|^RINGFLATE_BENCH|^[\w.-]+\/[\w.-]+$/.test(line)) process.stdout.write(`  ${line.trim()}\n`);
    });
    // criterion's progress lines go to stderr; keep cargo's own messages and anything unexpected.
    readline.createInterface({ input: p.stderr }).on('line', (line) => {
      errText += line + '\n';
      if (line.trim() && !/^(Benchmarking |Warning: Unable to complete)/.test(line)) process.stderr.write(`  ${line}\n`);
    });
    p.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`cargo bench exited with ${code}:\n${errText.slice(-4000)}`))));
  });
  const rows = [];
  for (const line of out.split('\n')) {
    const m = /^RINGFLATE_BENCH (\{.*\})$/.exec(line.trim());
    if (!m) continue;
    const r = JSON.parse(m[1]);
    const est = JSON.parse(fs.readFileSync(path.join(criterionHome, r.file, r.bench, 'new/estimates.json'), 'utf8'));
    const ns = est.median.point_estimate;
    // The fastest sample too (criterion's samples are iteration batches; time per iteration).
    const sample = JSON.parse(fs.readFileSync(path.join(criterionHome, r.file, r.bench, 'new/sample.json'), 'utf8'));
    const bestNs = Math.min(...sample.times.map((t, i) => t / sample.iters[i]));
    rows.push({ ...r, medianMs: ns / 1e6, mbps: r.input / 1e6 / (ns / 1e9), bestMbps: r.input / 1e6 / (bestNs / 1e9) });
  }
  return rows;
}

function workerSize(file) {
  const code = fs.readFileSync(path.resolve(root, file));
  return { file, raw: code.length, gzip: zlib.gzipSync(code, { level: 9 }).length };
}

function browserTable(summary, names, labels) {
  const lines = [];
  for (const file of [...new Set(summary.map((s) => s.file))]) {
    const rows = summary.filter((s) => s.file === file);
    const base = rows.find((r) => r.contestant === 'fflate');
    const f = rows[0];
    lines.push(`\n**${file}** — ${f.events} events, ${(f.inputBytes / 1e6).toFixed(2)} MB of stream text, ${f.finishes} finishes (5 s segments)\n`);
    lines.push('| contestant | MB/s | compressed B | ready ms | finish 5 s p50 / p95 ms | finish 60 s p50 / p95 ms | stress loop ms / 1k events | zlib header |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---|');
    for (const name of names) {
      const r = rows.find((x) => x.contestant === name);
      if (!r) continue;
      const x = (v, b) => ` (${ratio(v, b)})`;
      lines.push(`| ${labels[name]} | ${fmt(r.mbps, 2)}${x(r.mbps, base.mbps)} | ${fmt(r.compressed, 0)}${x(r.compressed, base.compressed)} | ` +
        `${fmt(r.readyMs, 1)}${x(r.readyMs, base.readyMs)} | ${fmt(r.finish5.p50, 1)} / ${fmt(r.finish5.p95, 1)}${x(r.finish5.p50, base.finish5.p50)} | ` +
        `${fmt(r.finish60.p50, 1)} / ${fmt(r.finish60.p95, 1)}${x(r.finish60.p50, base.finish60.p50)} | ` +
        `${fmt(r.mainMsPer1k, 1)}${x(r.mainMsPer1k, base.mainMsPer1k)} | ${r.header} |`);
    }
  }
  return lines.join('\n');
}

function nativeTable(rows) {
  const lines = ['| file | bench | MB/s | best MB/s | median ms / iteration | compressed B | finishes | level |', '|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(`| ${r.file} | ${r.bench} | ${fmt(r.mbps, 1)} | ${fmt(r.bestMbps, 1)} | ${fmt(r.medianMs, 2)} | ${fmt(r.compressed, 0)} | ${r.finishes} | ${r.level} |`);
  }
  return lines.join('\n');
}

const get = (summary, file, name) => summary.find((s) => s.file === file && s.contestant === name);
const filesOf = (summary) => [...new Set(summary.map((s) => s.file))];

/** The range (lowest–highest) of a / b over the repetitions both ran in, as text; '' with fewer than two. */
function spread(a, b) {
  const q = Object.keys(a?.mbpsByRep || {}).filter((k) => b?.mbpsByRep?.[k]).map((k) => a.mbpsByRep[k] / b.mbpsByRep[k]);
  return q.length > 1 ? ` (${fmt(Math.min(...q), 2)}–${fmt(Math.max(...q), 2)})` : '';
}

/** The drop-in against the protocol's ceiling, and engine mode against fflate and CompressionStream. */
function shareTable(summary) {
  const lines = ['| corpus file | drop-in MB/s | no-compression reference MB/s | drop-in share of the reference | drop-in vs fflate | engine mode vs fflate | engine mode vs CompressionStream | ringflate bytes vs fflate |',
    '|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const file of filesOf(summary)) {
    const [rf, st, en, ff, cs] = ['ringflate', 'stored', 'ringflate-engine', 'fflate', 'cstream'].map((n) => get(summary, file, n));
    const m = (x) => x?.mbps;
    lines.push(`| ${file} | ${fmt(m(rf), 2)} | ${fmt(m(st), 2)} | ${fmt(m(rf) / m(st), 2)}${spread(rf, st)} | ${fmt(m(rf) / m(ff), 2)}×${spread(rf, ff)} | ` +
      `${fmt(m(en) / m(ff), 2)}×${spread(en, ff)} | ${fmt(m(en) / m(cs), 2)}×${spread(en, cs)} | ${fmt(rf?.compressed / ff?.compressed, 3)}× |`);
  }
  return lines.join('\n');
}

/** WebAssembly (the `direct` pass: the worker file run in a browser worker with its handler called
 * directly) against the same sources natively (criterion `sentry_worker`, the same feed), same run. */
function wasmNativeRows(summary, native) {
  const out = [];
  for (const file of filesOf(summary)) {
    const rf = get(summary, file, 'ringflate');
    const nat = (native || []).find((n) => n.file === file && n.bench === 'sentry_worker');
    if (!rf?.direct) continue;
    out.push({ file, cold: rf.direct.coldMbps, warm: rf.direct.warmMbps, native: nat?.mbps, nativeBest: nat?.bestMbps });
  }
  return out;
}

function wasmNativeTable(rows) {
  const lines = ['| corpus file | WebAssembly, fresh instance (first pass) MB/s | WebAssembly, warm (best pass) MB/s | native median MB/s | native best MB/s | warm / native best | first pass / native best |',
    '|---|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(`| ${r.file} | ${fmt(r.cold, 1)} | ${fmt(r.warm, 1)} | ${fmt(r.native, 1)} | ${fmt(r.nativeBest, 1)} | ` +
      `${fmt(r.warm / r.nativeBest, 2)} | ${fmt(r.cold / r.nativeBest, 2)} |`);
  }
  return lines.join('\n');
}

function targets(summary, size, native, main) {
  const out = [];
  const files = filesOf(summary);
  if (main) {
    for (const file of files) {
      const ctl = main.rows.find((r) => r.file === file && r.contestant === MAIN_CONTROL);
      for (const r of main.rows.filter((x) => x.file === file && MAIN_HOSTS.some((h) => h.target && h.name === x.contestant))) {
        const q = r.netTaskPer1k / ctl.netTaskPer1k;
        out.push({ target: `${r.label}: main-thread task ms per 1,000 events on ${file} at recorded pace (${main.speed}×): ≤ ${TARGET.engineMainVsSentry}× Sentry's host`,
          met: q <= TARGET.engineMainVsSentry, value: `${fmt(q, 2)}× (${fmt(r.netTaskPer1k, 1)} vs ${fmt(ctl.netTaskPer1k, 1)} ms; CPU ${fmt(r.netCpuPer1k, 1)} vs ${fmt(ctl.netCpuPer1k, 1)} ms)` });
      }
    }
  }
  for (const file of files) {
    const [rf, st, ff] = ['ringflate', 'stored', 'fflate'].map((n) => get(summary, file, n));
    if (!rf || !st || !ff) continue;
    const q = rf.mbps / st.mbps;
    const bytes = rf.compressed / ff.compressed;
    out.push({ target: `drop-in throughput on ${file}: ≥ ${TARGET.dropInVsStored} of the no-compression reference worker, bytes ≤ fflate`,
      met: q >= TARGET.dropInVsStored && bytes <= 1, value: `${fmt(q, 2)} (${fmt(rf.mbps, 2)} vs ${fmt(st.mbps, 2)} MB/s), bytes ${fmt(bytes, 3)}× fflate` });
  }
  for (const file of files) {
    const [en, ff, cs] = ['ringflate-engine', 'fflate', 'cstream'].map((n) => get(summary, file, n));
    if (!en || !ff) continue;
    const vsF = en.mbps / ff.mbps;
    const vsC = cs ? en.mbps / cs.mbps : NaN;
    const bytes = en.compressed / ff.compressed;
    out.push({ target: `engine mode throughput on ${file}: ≥ ${TARGET.vsFflate}× fflate, ≥ ${TARGET.vsCstream}× CompressionStream, bytes ≤ fflate`,
      met: vsF >= TARGET.vsFflate && (!cs || vsC >= TARGET.vsCstream) && bytes <= 1, value: `${fmt(vsF, 2)}× fflate, ${fmt(vsC, 2)}× CompressionStream, bytes ${fmt(bytes, 3)}× fflate` });
  }
  for (const r of wasmNativeRows(summary, native).filter((x) => x.file.includes(TARGET.wasmVsNativeFile) && Number.isFinite(x.nativeBest))) {
    const q = r.warm / r.nativeBest;
    out.push({ target: `WebAssembly deflate on ${r.file}: ≥ ${TARGET.wasmVsNative} of the same sources' native speed (warm instance; same run)`,
      met: q >= TARGET.wasmVsNative, value: `${fmt(q, 2)} (${fmt(r.warm, 1)} vs ${fmt(r.nativeBest, 1)} MB/s); a fresh instance's first pass: ${fmt(r.cold / r.nativeBest, 2)}` });
  }
  for (const file of [...new Set((native || []).map((n) => n.file))]) {
    const ses = native.find((n) => n.file === file && n.bench === 'engine_session');
    const buf = native.find((n) => n.file === file && n.bench === 'engine_buffer');
    if (!ses || !buf) continue;
    const r = buf.medianMs / ses.medianMs;
    out.push({ target: `buffer mode per-event cost on ${file}: ≤ ${TARGET.bufferVsSession}× session mode (native engine, same events)`,
      met: r <= TARGET.bufferVsSession, value: `${fmt(r, 2)}× (${fmt(buf.medianMs, 1)} vs ${fmt(ses.medianMs, 1)} ms)` });
  }
  const rfRows = summary.filter((s) => s.contestant === 'ringflate');
  if (rfRows.length) {
    const ready = Math.max(...rfRows.map((r) => r.readyMs));
    out.push({ target: `worker ready ≤ ${TARGET.readyMs} ms after new Worker (median, worst file)`, met: ready <= TARGET.readyMs, value: `${fmt(ready, 1)} ms` });
    const f60 = Math.max(...rfRows.map((r) => r.finish60.p50));
    const f60p95 = Math.max(...rfRows.map((r) => r.finish60.p95));
    out.push({ target: `finish ≤ ${TARGET.finish60Ms} ms for a 60 s buffer (median, worst file)`, met: f60 <= TARGET.finish60Ms,
      value: `${fmt(f60, 1)} ms (p95 ${fmt(f60p95, 1)} ms)` });
  }
  if (size) out.push({ target: `${size.file} ≤ ${TARGET.gzipBytes} B gzipped (60 KiB)`, met: size.gzip <= TARGET.gzipBytes, value: `${size.gzip} B (raw ${size.raw} B)` });
  return out;
}

async function main() {
  const started = new Date();
  const machine = machineInfo();
  console.log(`ringflate benchmark — ${started.toISOString()} — ${machine.cpu}, ${machine.cores} cores, ${machine.chromium}`);
  console.log(`corpus: ${files.join(', ')}; repetitions: ${reps}${quick ? ' (quick)' : ''}`);
  const result = { date: started.toISOString(), machine, quick, reps, files, targets: TARGET };

  if (!flag('no-native')) result.native = await runNative();

  if (!flag('no-browser')) {
    if (!fs.existsSync(path.resolve(root, ringflateFile))) {
      throw new Error(`${ringflateFile} does not exist; build it first: node worker/build.mjs`);
    }
    result.workerSize = workerSize(ringflateFile);
    const contestants = standardContestants({ ringflateFile });
    console.log(`\n== browser: ${contestants.map((c) => c.name).join(', ')} (${result.workerSize.file}: ${result.workerSize.raw} B, ${result.workerSize.gzip} B gzipped)`);
    const passes = ['stream', 'paced5', 'paced60', 'direct'];
    const t = Date.now();
    const extraArgs = opt('chromium-args', '').split(' ').filter(Boolean);
    if (extraArgs.length) result.chromiumArgs = extraArgs;
    const { runs, files: info } = await runBrowserBench({ root, corpusDir, files, contestants, reps, passes, extraArgs });
    result.browserSeconds = (Date.now() - t) / 1000;
    result.corpus = info;
    result.contestants = contestants.map(({ name, label, feed, file }) => ({ name, label, feed, file }));
    result.browser = summarize(runs, contestants, info);
    result.runs = runs;
    if (!flag('no-mainthread')) {
      console.log(`\n== browser: main thread at recorded pace (${speed}×) through each host`);
      const t2 = Date.now();
      const mt = await runMainThread({ corpusDir, files, speed, reps: quick ? 1 : Number(opt('mt-reps', 1)),
        ringflateFile: path.resolve(root, ringflateFile), log: console.log });
      result.mainthread = { ...mt, seconds: (Date.now() - t2) / 1000 };
    }
  }

  const labels = Object.fromEntries((result.contestants || []).map((c) => [c.name, c.label]));
  const md = [];
  md.push('# ringflate benchmark results', '');
  md.push(`Produced by \`node bench/run.mjs${argv.length ? ' ' + argv.join(' ') : ''}\` — see bench/README.md for what each column means.`, '');
  md.push(`- date: ${result.date}`);
  md.push(`- machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGB} GB RAM; ${machine.chromium}; node ${process.version}; load average at start ${machine.loadavg}`);
  md.push(`- commit: ${machine.commit}`);
  if (result.chromiumArgs) md.push(`- extra Chromium arguments: \`${result.chromiumArgs.join(' ')}\``);
  md.push(`- repetitions: ${reps} per contestant and file (median shown), contestants interleaved${quick ? '; **quick run**' : ''}`);
  if (result.mainthread) md.push(`- main thread: recorded pace ${result.mainthread.speed}× faster, ${result.mainthread.reps} repetition(s)`);
  if (result.workerSize) md.push(`- ringflate worker: \`${result.workerSize.file}\`, ${result.workerSize.raw} B, ${result.workerSize.gzip} B gzip -9`);
  if (result.browser) {
    result.targetStatus = targets(result.browser, result.workerSize, result.native, result.mainthread);
    md.push('', '## Targets', '', '| target | status | measured |', '|---|---|---|');
    for (const t of result.targetStatus) md.push(`| ${t.target} | ${t.met ? 'met' : '**not met**'} | ${t.value} |`);
    md.push('', '## Drop-in against the protocol\'s ceiling; engine mode against fflate and CompressionStream', '');
    md.push('MB/s of the `stream` pass (end to end, one message per event for the drop-in, 250 ms batches for engine mode). The no-compression reference is a worker that answers Sentry\'s protocol with stored blocks: what one message per event costs here, the ceiling of any drop-in. Ratios are of the medians; in parentheses, the lowest and highest ratio of the two contestants within one repetition (they run interleaved), which is how much one run of this machine moves.', '');
    md.push(shareTable(result.browser));
    const wn = wasmNativeRows(result.browser, result.native);
    if (wn.length) {
      md.push('', '## WebAssembly against native, the same sources and feed', '');
      md.push('WebAssembly: the `direct` pass, the worker file run inside a browser worker whose driver calls its message handler directly (no messages between threads): one `addEvent` per event and `finish` every 5 s of event time, 6 passes per repetition, the first on a fresh instance. Native: criterion `sentry_worker`, the same feed. Both include ringflate\'s framing and Adler-32 around zlib-rs; the WebAssembly side also the string\'s copy into linear memory and the reply bytes\' copy out.', '');
      md.push(wasmNativeTable(wn));
    }
    if (result.mainthread) {
      md.push('', '## Main thread at recorded pace (`bench/mainthread.mjs`)', '');
      md.push(...mainThreadTable(result.mainthread.rows, result.mainthread));
    }
    md.push('', '## Browser, all contestants (headless Chromium, one dedicated worker per contestant)', '');
    md.push('Ratios in parentheses are against fflate (Sentry\'s worker) measured in the same run: for MB/s higher is better, for every other column lower is better. "stress loop ms / 1k events": the page\'s posting loop when every event is posted in one go (wall time).');
    md.push(browserTable(result.browser, result.contestants.map((c) => c.name), labels));
  }
  if (result.native) {
    md.push('', '## Native (criterion, `cargo bench -p ringflate --bench corpus`)', '');
    md.push('`sentry_worker`: SentryWorker, one addEvent per event, finish every 5 s of event time and at the end. `ceiling_*`: the whole stream text in one raw-deflate call at the same level. `engine_session` / `engine_buffer`: the engine fed one batch per 250 ms of event time (host-js default `batchMs`) on a fake clock, in session mode (segments by Sentry\'s rules) or buffer mode (history in the ring, sent by one error at the end). MB/s = stream text bytes / median time (best: the fastest sample).', '');
    md.push(nativeTable(result.native));
  }
  const text = md.join('\n') + '\n';
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, `${outName}.md`), text);
  fs.writeFileSync(path.join(outDir, `${outName}.json`), JSON.stringify(result, null, 1) + '\n');
  console.log('\n' + text);
  console.log(`wrote bench/results/${outName}.md and ${outName}.json (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

await main();
