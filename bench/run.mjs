#!/usr/bin/env node
// ringflate benchmark suite: native criterion bench + browser bench against the
// peers, in one go. See bench/README.md.
//
//   node bench/run.mjs [--quick] [--reps N] [--files d1,d4] [--no-native] [--no-browser]
//                      [--ringflate dist/ringflate-worker.js] [--chromium-args '--js-flags=…']
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
import { standardContestants } from './lib/contestants.mjs';
import { machineInfo, corpusFiles, fmt, ratio } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);

if (argv.includes('--variants')) {
  const { main } = await import('./variants.mjs');
  await main(argv.filter((a) => a !== '--variants'));
  process.exit(0);
}

const flag = (n) => argv.includes(`--${n}`);
const opt = (n, d) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1] : d;
};
const quick = flag('quick');
const reps = Number(opt('reps', quick ? 1 : 5));
const corpusDir = path.resolve(root, opt('corpus', 'tests/corpus'));
const files = corpusFiles(corpusDir, opt('files', ''));
const ringflateFile = opt('ringflate', 'dist/ringflate-worker.js');
const outDir = path.join(root, 'bench/results');
const outName = opt('out', 'latest');

// Targets (bench/README.md "Targets").
const TARGET = { vsFflate: 3, vsCstream: 2, readyMs: 50, finish60Ms: 5, gzipBytes: 60 * 1024, bufferVsSession: 1.1, engineMainVsSentry: 0.5 };

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
    rows.push({ ...r, medianMs: ns / 1e6, mbps: r.input / 1e6 / (ns / 1e9) });
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
    lines.push('| contestant | MB/s | compressed B | ready ms | finish 5 s p50 / p95 ms | finish 60 s p50 / p95 ms | main-thread ms / 1k events | zlib header |');
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
  const lines = ['| file | bench | MB/s | median ms / iteration | compressed B | finishes | level |', '|---|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(`| ${r.file} | ${r.bench} | ${fmt(r.mbps, 1)} | ${fmt(r.medianMs, 2)} | ${fmt(r.compressed, 0)} | ${r.finishes} | ${r.level} |`);
  }
  return lines.join('\n');
}

function targets(summary, size, native) {
  const out = [];
  const get = (file, name) => summary.find((s) => s.file === file && s.contestant === name);
  for (const file of [...new Set(summary.map((s) => s.file))]) {
    const en = get(file, 'ringflate-engine');
    const ff = get(file, 'fflate');
    if (!en || !ff) continue;
    const r = en.mainMsPer1k / ff.mainMsPer1k;
    out.push({ target: `engine-mode main-thread ms per 1,000 events on ${file}: ≤ ${TARGET.engineMainVsSentry}× Sentry's one-message-per-event host`,
      met: r <= TARGET.engineMainVsSentry, value: `${fmt(r, 2)}× (${fmt(en.mainMsPer1k, 1)} vs ${fmt(ff.mainMsPer1k, 1)} ms)` });
  }
  for (const file of [...new Set((native || []).map((n) => n.file))]) {
    const ses = native.find((n) => n.file === file && n.bench === 'engine_session');
    const buf = native.find((n) => n.file === file && n.bench === 'engine_buffer');
    if (!ses || !buf) continue;
    const r = buf.medianMs / ses.medianMs;
    out.push({ target: `buffer mode per-event cost on ${file}: ≤ ${TARGET.bufferVsSession}× session mode (native engine, same events)`,
      met: r <= TARGET.bufferVsSession, value: `${fmt(r, 2)}× (${fmt(buf.medianMs, 1)} vs ${fmt(ses.medianMs, 1)} ms)` });
  }
  for (const mode of ['ringflate', 'ringflate-engine']) {
    for (const file of [...new Set(summary.map((s) => s.file))]) {
      const rf = get(file, mode);
      const ff = get(file, 'fflate');
      const cs = get(file, 'cstream');
      if (!rf || !ff) continue;
      const vsF = rf.mbps / ff.mbps;
      const vsC = cs ? rf.mbps / cs.mbps : NaN;
      const bytes = rf.compressed / ff.compressed;
      const ok = vsF >= TARGET.vsFflate && (!cs || vsC >= TARGET.vsCstream) && bytes <= 1;
      const st = get(file, 'stored');
      const ceiling = st && mode === 'ringflate'
        ? `; the protocol's own ceiling (no compression) is ${fmt(st.mbps, 2)} MB/s = ${fmt(st.mbps / ff.mbps, 2)}× fflate` : '';
      out.push({ target: `${mode === 'ringflate' ? 'drop-in' : 'engine mode'} throughput on ${file}: ≥ ${TARGET.vsFflate}× fflate, ≥ ${TARGET.vsCstream}× CompressionStream, bytes ≤ fflate`,
        met: ok, value: `${fmt(vsF, 2)}× fflate, ${fmt(vsC, 2)}× CompressionStream, bytes ${fmt(bytes, 3)}× fflate${ceiling}` });
    }
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
    const passes = ['stream', 'paced5', 'paced60'];
    const t = Date.now();
    const extraArgs = opt('chromium-args', '').split(' ').filter(Boolean);
    if (extraArgs.length) result.chromiumArgs = extraArgs;
    const { runs, files: info } = await runBrowserBench({ root, corpusDir, files, contestants, reps, passes, extraArgs });
    result.browserSeconds = (Date.now() - t) / 1000;
    result.corpus = info;
    result.contestants = contestants.map(({ name, label, feed, file }) => ({ name, label, feed, file }));
    result.browser = summarize(runs, contestants, info);
    result.runs = runs;
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
  if (result.workerSize) md.push(`- ringflate worker: \`${result.workerSize.file}\`, ${result.workerSize.raw} B, ${result.workerSize.gzip} B gzip -9`);
  if (result.browser) {
    result.targetStatus = targets(result.browser, result.workerSize, result.native);
    md.push('', '## Targets', '', '| target | status | measured |', '|---|---|---|');
    for (const t of result.targetStatus) md.push(`| ${t.target} | ${t.met ? 'met' : '**not met**'} | ${t.value} |`);
    md.push('', '## Browser (headless Chromium, one dedicated worker per contestant, Sentry\'s message protocol)', '');
    md.push('Ratios in parentheses are against fflate (Sentry\'s worker) measured in the same run: for MB/s higher is better, for every other column lower is better.');
    md.push(browserTable(result.browser, result.contestants.map((c) => c.name), labels));
  }
  if (result.native) {
    md.push('', '## Native (criterion, `cargo bench -p ringflate --bench corpus`)', '');
    md.push('`sentry_worker`: SentryWorker, one addEvent per event, finish every 5 s of event time and at the end. `ceiling_*`: the whole stream text in one raw-deflate call at the same level. `engine_session` / `engine_buffer`: the engine fed one batch per 250 ms of event time (host-js default `batchMs`) on a fake clock, in session mode (segments by Sentry\'s rules) or buffer mode (history in the ring, sent by one error at the end). MB/s = stream text bytes / median time.', '');
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
