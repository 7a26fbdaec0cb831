#!/usr/bin/env node
// The main thread as a user feels it: each corpus file is replayed at its recorded pace (event
// timestamps, `--speed` times faster) through each host as it really runs in a page, and the page's
// main-thread task time is read from a Chromium trace (RunTask events of the page's renderer main
// thread) and from the DevTools protocol's Performance.getMetrics (TaskDuration, ScriptDuration).
// Every envelope the hosts send is parsed strictly by the local ingest (tests/lib/server.mjs) and the
// events received must be exactly the corpus file, in order, once. A second pass, `stress`, hands
// every event over in one task (the old posting-loop figure) and traces until the sends are done.
// See bench/README.md.
//
//   node bench/mainthread.mjs [--speed 8] [--reps 1] [--files d2,d4] [--out mainthread]
//
// Writes bench/results/<out>.md and .json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { startServer } from '../tests/lib/server.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from '../tests/lib/browser.mjs';
import { sentryWorkerSource } from './lib/contestants.mjs';
import { machineInfo, corpusFiles, fmt, ratio, cli } from './lib/report.mjs';
import { median } from './lib/browser-bench.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The hosts, as bench/page/paced.js runs them. `none` is the feed alone (the baseline). `target`: held to
 * the main-thread target in bench/run.mjs (≤ 0.5× CONTROL's task time per 1,000 events). */
export const CONTESTANTS = [
  { name: 'none', label: 'feed alone (baseline)', host: 'none' },
  { name: 'sentry-fflate', label: "Sentry's host + Sentry's worker (fflate)", host: 'sentry', worker: '/w/fflate.js' },
  { name: 'sentry-ringflate', label: "Sentry's host + ringflate worker (drop-in)", host: 'sentry', worker: '/w/ringflate-worker.js' },
  { name: 'engine', label: 'ringflate host-js (startReplay)', host: 'engine', worker: '/w/ringflate-worker.js', target: true },
  // The real SDK and integration; it adds its own custom events (options, performance spans), so the corpus must
  // arrive as an in-order subsequence with only type-5 events between.
  { name: 'ringflate-sentry', label: 'ringflate/sentry (ringflateReplay, real @sentry/browser)', host: 'ringflate-sentry',
    worker: '/w/ringflate-worker.js', target: true, addsCustomEvents: true },
];
// RINGFLATE_MAIN_BEFORE=<git revision>: the two ringflate hosts also as that revision's host-js/src has them (its
// sources, in a page of their own built from the same harness), interleaved with the current ones, for before/after.
const BEFORE = process.env.RINGFLATE_MAIN_BEFORE;
if (BEFORE) {
  for (const name of ['engine', 'ringflate-sentry']) {
    const c = CONTESTANTS.find((x) => x.name === name);
    CONTESTANTS.push({ ...c, name: `${name}@before`, label: `${c.label} at ${BEFORE}`, page: 'paced-before' });
  }
}
export const CONTROL = 'sentry-fflate';

// RINGFLATE_MAIN_PROFILE=N: a V8 CPU profile of the page's main thread during each traced pass (the bundle
// then unminified, so functions keep their names); prints the N functions with the most self time and the N
// with the most total time, and writes each profile to bench/.variants/<file>-<host>-<pass>.cpuprofile.
const PROFILE = Number(process.env.RINGFLATE_MAIN_PROFILE) || 0;

const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'";
const WASM_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'";

/**
 * Runs the paced and stress passes for every file and host; returns `{runs, rows, speed, reps}`
 * (`rows`: see mainThreadRows). bench/run.mjs calls this too.
 */
export async function runMainThread({ corpusDir, files, speed = 8, reps = 1, ringflateFile, log = console.log }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-mainthread-'));
  const srv = await startServer({ sentry: { expectCompressed: true } });
  // The page's host-js is its sources (`ringflate`, the integration's import of the core, is the same src/index.js
  // the page imports), or, for the `@before` hosts, those of RINGFLATE_MAIN_BEFORE.
  const pages = { paced: path.join(root, 'host-js/src') };
  if (BEFORE) {
    // Inside the repository (bench/.variants is ignored), so that its imports find node_modules.
    const dir = path.join(root, 'bench/.variants/mainthread-before');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git -C "${root}" archive "${BEFORE}" host-js/src | tar -x -C "${dir}"`]);
    pages['paced-before'] = path.join(dir, 'host-js/src');
  }
  const own = path.join(root, 'host-js/src');
  for (const [name, src] of Object.entries(pages)) {
    await build({ entryPoints: [path.join(root, 'bench/page/paced.js')], bundle: true, format: 'iife', target: 'es2020',
      minify: !PROFILE, outfile: path.join(tmp, `${name}.js`), logLevel: 'error',
      alias: { '@sentry-internal/rrweb': path.join(root, 'bench/page/feed-recorder.js'), ringflate: path.join(src, 'index.js') },
      plugins: [{ name: 'host-src', setup(b) {
        b.onResolve({ filter: /host-js\/src\// }, (a) => {
          const p = path.resolve(a.resolveDir, a.path);
          return p.startsWith(own + path.sep) && src !== own ? { path: path.join(src, path.relative(own, p)) } : undefined;
        });
      } }] });
    srv.body(`/${name}.html`, `<!doctype html><meta charset="utf-8"><title>paced</title><script src="/${name}.js"></script>`,
      { 'Content-Security-Policy': PAGE_CSP });
    srv.file(`/${name}.js`, path.join(tmp, `${name}.js`));
  }
  srv.body('/w/fflate.js', sentryWorkerSource(root), { 'Content-Security-Policy': "default-src 'none'; script-src 'self'" });
  srv.file('/w/ringflate-worker.js', ringflateFile, { 'Content-Security-Policy': WASM_CSP });
  const lines = {};
  for (const f of files) {
    const text = zlib.gunzipSync(fs.readFileSync(path.join(corpusDir, `${f}.ndjson.gz`)));
    srv.body(`/corpus/${f}.ndjson`, text, { 'Content-Type': 'application/x-ndjson' });
    lines[f] = text.toString('utf8').split('\n').filter(Boolean);
  }
  const envelopeUrl = `${srv.origin}/api/${srv.projectId}/envelope/?sentry_version=7&sentry_key=${srv.key}`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-mainthread-profile-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const runs = [];
  log(`paced main-thread bench: speed ${speed}×, ${reps} repetition(s), files ${files.join(', ')}`);
  try {
    for (const file of files) {
      for (let rep = 0; rep < reps; rep++) {
        const pick = process.env.RINGFLATE_MAIN_HOSTS ? CONTESTANTS.filter((c) => process.env.RINGFLATE_MAIN_HOSTS.split(",").includes(c.name)) : CONTESTANTS;
        const order = pick.map((_, k) => pick[(k + rep) % pick.length]);
        for (const c of order) {
          for (const pass of ['paced', 'stress']) {
            const r = await runOne({ context, srv, file, c, pass, speed, envelopeUrl, want: lines[file] });
            runs.push({ file, rep, contestant: c.name, pass, ...r });
            log(`  ${file} ${c.name.padEnd(17)} ${pass.padEnd(6)} task ${fmt(r.traceTaskMs, 0).padStart(6)} ms ` +
              `(cpu ${fmt(r.traceCpuMs, 0).padStart(5)}), script ${fmt(r.scriptMs, 0).padStart(6)} ms, ` +
              `longest ${fmt(r.longestTaskMs, 1)} ms, ${r.events} events in ${fmt(r.wallMs / 1000, 1)} s`);
          }
        }
      }
    }
  } finally {
    await context.close();
    await srv.close();
    if (!process.env.RINGFLATE_BENCH_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(profile, { recursive: true, force: true });
  }
  return { runs, rows: mainThreadRows(runs, files), speed, reps };
}

async function runOne({ context, srv, file, c, pass, speed, envelopeUrl, want }) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  if (process.env.RINGFLATE_BENCH_DEBUG) page.on('console', (m) => console.log('    page:', m.type(), m.text().slice(0, 300)));
  try {
    await page.goto(`${srv.origin}/${c.page || 'paced'}.html`);
    await page.waitForFunction(() => window.paced && window.paced.ready);
    await page.evaluate((id) => window.paced.loadCorpus(id), file);
    srv.envelopes.length = 0;
    srv.failures.length = 0;
    await page.evaluate((o) => window.paced.prepare(o), { host: c.host, workerUrl: c.worker, dsn: srv.dsn, envelopeUrl });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    const before = metrics(await cdp.send('Performance.getMetrics'));
    if (PROFILE) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await cdp.send('Profiler.start');
    }
    const trace = await startTrace(cdp);
    const fed = await page.evaluate((o) => window.paced.feed(o), { speed: pass === 'stress' ? 0 : speed });
    // Paced: the feed's own span (a real page keeps going). Stress: until the last send is done, so
    // the replies and sends caused by the burst are counted too.
    if (pass === 'stress') await page.evaluate(() => window.paced.finish());
    const events = await trace.stop();
    if (PROFILE) printProfile(`${file} ${c.name} ${pass}`, (await cdp.send('Profiler.stop')).profile);
    const after = metrics(await cdp.send('Performance.getMetrics'));
    if (pass === 'paced') await page.evaluate(() => window.paced.finish());
    const tasks = mainThreadTasks(events, srv.origin);
    const received = c.host === 'none' ? [] : await receivedEvents(srv, want, c.addsCustomEvents);
    if (c.host !== 'none') {
      if (srv.failures.length) throw new Error(`${c.name} on ${file}: ingest refused: ${JSON.stringify(srv.failures[0])}`);
      if (c.addsCustomEvents) {
        const bad = extraNotCustom(received, want);
        if (bad) throw new Error(`${c.name} on ${file}: ${bad} (envelopes ${srv.envelopes.length}, replays ${srv.replays.length}, failures ${JSON.stringify(srv.failures.slice(0, 2))}, log ${JSON.stringify(srv.log.filter((l) => l.method === "POST").slice(-3))})`);
      } else if (received.length !== want.length || received.some((l, i) => l !== want[i])) {
        const i = received.findIndex((l, k) => l !== want[k]);
        throw new Error(`${c.name} on ${file}: received ${received.length} events, want ${want.length}; first difference at ${i}`);
      }
    }
    if (process.env.RINGFLATE_BENCH_DEBUG) {
      for (const r of srv.replays.slice().sort((a, b) => a.segmentId - b.segmentId)) {
        const ts = r.events.map((e) => e.timestamp);
        console.log(`    segment ${r.segmentId}: ${r.events.length} events, types ${[...new Set(r.events.map((e) => e.type === 5 ? e.data?.tag : e.type))].join(' ')}, ` +
          `${Math.round(Math.min(...ts) / 10) / 100}–${Math.round(Math.max(...ts) / 10) / 100} s`);
      }
    }
    if (errors.length) throw new Error(`${c.name} on ${file}: page errors: ${errors.join('; ')}`);
    await cdp.detach();
    return {
      events: fed.events,
      wallMs: fed.wallMs,
      maxLateMs: fed.maxLateMs,
      traceTaskMs: tasks.totalMs,
      traceCpuMs: tasks.cpuMs,
      longestTaskMs: tasks.longestMs,
      taskCount: tasks.count,
      metricTaskMs: (after.TaskDuration - before.TaskDuration) * 1000,
      scriptMs: (after.ScriptDuration - before.ScriptDuration) * 1000,
      segments: new Set(srv.replays.map((r) => r.segmentId)).size,
    };
  } finally {
    await page.close();
  }
}

/** The functions with the most self and total time in a V8 CPU profile (RINGFLATE_MAIN_PROFILE). */
function printProfile(title, profile) {
  const dir = path.join(root, 'bench/.variants');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${title.replace(/ /g, '-')}.cpuprofile`), JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const name = (n) => {
    const f = n.callFrame;
    return `${f.functionName || '(anonymous)'} [${f.url ? `${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}` : ''}]`;
  };
  const self = new Map();
  const total = new Map();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const n = byId.get(id);
    if (n.callFrame.functionName === '(idle)') return;
    all += us;
    self.set(name(n), (self.get(name(n)) || 0) + us);
    const seen = new Set();
    for (let k = id; k !== undefined; k = parent.get(k)) seen.add(name(byId.get(k)));
    for (const k of seen) total.set(k, (total.get(k) || 0) + us);
  });
  const show = (label, m) => {
    console.log(`    ${label}:`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, PROFILE)) {
      console.log(`      ${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / all).toFixed(1).padStart(5)} %  ${k}`);
    }
  };
  console.log(`  profile ${title}: ${(all / 1000).toFixed(1)} ms sampled (not idle)`);
  show('self', self);
  show('total', total);
}

function metrics({ metrics: list }) {
  return Object.fromEntries(list.map((m) => [m.name, m.value]));
}

async function startTrace(cdp) {
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: { includedCategories: ['disabled-by-default-devtools.timeline', 'devtools.timeline', '__metadata'] },
  });
  return {
    stop: () => new Promise((resolve) => {
      cdp.once('Tracing.tracingComplete', () => resolve(events));
      cdp.send('Tracing.end');
    }),
  };
}

/** The page's renderer main thread (named CrRendererMain in the trace's metadata, in the process that
 * TracingStartedInBrowser names for our origin's frame) and its top-level RunTask events. */
function mainThreadTasks(events, origin) {
  const started = events.find((e) => e.name === 'TracingStartedInBrowser');
  const frames = started?.args?.data?.frames || [];
  const pids = new Set(frames.filter((f) => String(f.url || '').startsWith(origin)).map((f) => f.processId));
  const mains = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain' &&
    (!pids.size || pids.has(e.pid)));
  if (!mains.length) throw new Error('trace: no CrRendererMain thread for the page');
  const key = new Set(mains.map((m) => `${m.pid}:${m.tid}`));
  const tasks = events.filter((e) => e.ph === 'X' && e.name === 'RunTask' && key.has(`${e.pid}:${e.tid}`));
  const durs = tasks.map((t) => (t.dur || 0) / 1000);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  // dur: wall time of the task; tdur: the main thread's own CPU time in it (less than dur when the
  // thread was descheduled, as it is when two busy threads share this machine's two cores).
  return { totalMs: sum(durs), cpuMs: sum(tasks.map((t) => (t.tdur || 0) / 1000)),
    longestMs: durs.length ? Math.max(...durs) : 0, count: durs.length };
}

/** Why `received` is not the corpus `want` in order with only custom (type 5) events between, or null. */
function extraNotCustom(received, want) {
  let j = 0;
  for (const line of received) {
    if (j < want.length && line === want[j]) j++;
    else if (JSON.parse(line).type !== 5) return `an event that is neither the next corpus event nor a custom event: ${line.slice(0, 80)}`;
  }
  return j === want.length ? null : `only ${j} of ${want.length} corpus events arrived in order`;
}

/** The events the ingest received for the run, in segment order, as JSON text, once every corpus event is there
 * (in order; with `extra`, custom events of the host between them), or after 60 s. The corpus itself holds custom
 * events, so they cannot be told from the host's by their tag: the whole sequence is compared. */
async function receivedEvents(srv, want, extra) {
  const all = () => srv.replays.slice().sort((a, b) => a.segmentId - b.segmentId).flatMap((r) => r.events.map((e) => JSON.stringify(e)));
  const complete = () => {
    const got = all();
    return extra ? !extraNotCustom(got, want) : got.length >= want.length;
  };
  await srv.waitFor(complete, 60000, `${want.length} events`).catch(() => {});
  return all();
}

/** Per file and host: the medians per 1,000 events, net of the feed alone (the `none` host). */
export function mainThreadRows(runs, files) {
  const rows = [];
  for (const f of files) {
    const of = (name, pass) => runs.filter((r) => r.file === f && r.contestant === name && r.pass === pass);
    const per1k = (list, k) => (list.length ? (median(list.map((r) => r[k])) / list[0].events) * 1000 : 0);
    for (const c of CONTESTANTS.filter((x) => runs.some((r) => r.file === f && r.contestant === x.name))) {
      const paced = of(c.name, 'paced');
      const stress = of(c.name, 'stress');
      const base = of('none', 'paced');
      const baseStress = of('none', 'stress');
      rows.push({
        file: f, contestant: c.name, label: c.label, events: paced[0].events,
        taskPer1k: per1k(paced, 'traceTaskMs'),
        netTaskPer1k: per1k(paced, 'traceTaskMs') - per1k(base, 'traceTaskMs'),
        netCpuPer1k: per1k(paced, 'traceCpuMs') - per1k(base, 'traceCpuMs'),
        metricTaskPer1k: per1k(paced, 'metricTaskMs'),
        netScriptPer1k: per1k(paced, 'scriptMs') - per1k(base, 'scriptMs'),
        longestTaskMs: Math.max(...paced.map((r) => r.longestTaskMs)),
        stressTaskPer1k: per1k(stress, 'traceTaskMs') - per1k(baseStress, 'traceTaskMs'),
        stressCpuPer1k: per1k(stress, 'traceCpuMs') - per1k(baseStress, 'traceCpuMs'),
        stressLongestMs: Math.max(...stress.map((r) => r.longestTaskMs)),
        segments: median(paced.map((r) => r.segments)),
      });
    }
  }
  return rows;
}

/** The main-thread table (markdown lines), with ratios against Sentry's host with its own worker. */
export function mainThreadTable(rows, { speed, reps }) {
  const md = [];
  md.push(`Each corpus file replayed at its recorded pace, ${speed}× faster, through each host; ${reps} repetition(s), ` +
    'median. Task time: the page\'s renderer main thread, the sum of top-level RunTask events of a trace (wall ' +
    'time; "cpu": the thread\'s own CPU time in those tasks), per 1,000 events, net of the feed alone (the ' +
    'baseline row, shown gross). TaskDuration: Performance.getMetrics over the feed, gross. Stress: every event ' +
    'handed over in one task, traced until the last send is done, net of the baseline. Ratios (×) against ' +
    `${CONTROL}, lower is better. Every host\'s envelopes were parsed strictly and their events compared with the ` +
    'corpus (exactly once, in order).', '');
  md.push('| file | host | paced: task ms / 1k | cpu ms / 1k | longest task ms | TaskDuration ms / 1k | stress: task ms / 1k | stress cpu ms / 1k | stress longest ms | segments |');
  md.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const ctl = rows.find((x) => x.file === r.file && x.contestant === CONTROL);
    const isBase = r.contestant === 'none';
    // Without the control among the hosts (RINGFLATE_MAIN_HOSTS) there is no ratio.
    const cell = (v, k) => (isBase ? `(${fmt(v, 1)})` : `${fmt(r[k], 1)}${ctl ? ` (${ratio(r[k], ctl[k])})` : ''}`);
    md.push(`| ${r.file} | ${r.label} | ${cell(r.taskPer1k, 'netTaskPer1k')} | ${isBase ? '–' : cell(0, 'netCpuPer1k')} | ` +
      `${fmt(r.longestTaskMs, 1)} | ${fmt(r.metricTaskPer1k, 1)} | ${isBase ? '–' : cell(0, 'stressTaskPer1k')} | ` +
      `${isBase ? '–' : cell(0, 'stressCpuPer1k')} | ${fmt(r.stressLongestMs, 1)} | ${r.segments} |`);
  }
  return md;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const { opt } = cli(argv);
  const corpusDir = path.resolve(root, opt('corpus', 'tests/corpus'));
  const files = corpusFiles(corpusDir, opt('files', ''));
  const outName = opt('out', 'mainthread');
  const machine = machineInfo();
  const res = await runMainThread({ corpusDir, files, speed: Number(opt('speed', 8)), reps: Number(opt('reps', 1)),
    ringflateFile: path.resolve(root, opt('ringflate', 'dist/ringflate-worker.js')) });
  const when = new Date().toISOString().replace('T', ' ').slice(0, 16);
  const md = ['# Main-thread cost at recorded pace', '',
    `Run ${when} UTC · ${machine.cpu}, ${machine.cores} cores, ${machine.memGB} GB · ${machine.chromium} · ` +
    `load average at start ${machine.loadavg} · commit ${machine.commit}`, '', ...mainThreadTable(res.rows, res)];
  const text = md.join('\n') + '\n';
  const out = path.join(root, 'bench/results');
  fs.writeFileSync(path.join(out, `${outName}.md`), text);
  fs.writeFileSync(path.join(out, `${outName}.json`), JSON.stringify({ machine, speed: res.speed, reps: res.reps, files, runs: res.runs, rows: res.rows }, null, 1) + '\n');
  console.log('\n' + text);
}
