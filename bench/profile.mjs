#!/usr/bin/env node
// CPU profile of one contestant's worker (and of the page's main thread) during the
// `stream` pass, through the Chrome DevTools Protocol: the page's CDP session
// auto-attaches to the dedicated worker before it runs, and Profiler runs in both.
//
//   node bench/profile.mjs [--contestant ringflate] [--files d4] [--ringflate dist/ringflate-worker.js] [--top 25]
//
// Prints the functions with the most self time in each thread, grouped by script, and
// writes the raw profiles to bench/.variants/profile-<contestant>-<file>-{worker,main}.cpuprofile
// (open them in Chromium's DevTools, Performance panel).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './lib/server.mjs';
import { CHROMIUM } from './lib/browser-bench.mjs';
import { standardContestants } from './lib/contestants.mjs';
import { corpusFiles, cli } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const { opt } = cli(argv);
const name = opt('contestant', 'ringflate');
const top = Number(opt('top', 25));
const corpusDir = path.resolve(root, opt('corpus', 'tests/corpus'));
const files = corpusFiles(corpusDir, opt('files', 'd4'));
const contestant = standardContestants({ ringflateFile: opt('ringflate', 'dist/ringflate-worker.js') }).find((c) => c.name === name);
if (!contestant) throw new Error(`unknown contestant ${name}`);

/** Self time per function from a V8 CPU profile. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map();
  const dts = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const f = n.callFrame;
    const script = f.url ? f.url.replace(/^.*\//, '') : '';
    const key = `${f.functionName || '(anonymous)'}  [${script}${f.url ? `:${f.lineNumber + 1}` : ''}]`;
    hits.set(key, (hits.get(key) || 0) + (dts[i + 1] ?? 0));
  }
  const total = [...hits.values()].reduce((a, b) => a + b, 0);
  return { total, rows: [...hits.entries()].sort((a, b) => b[1] - a[1]) };
}

function print(title, profile) {
  const { total, rows } = selfTimes(profile);
  console.log(`\n${title}: ${(total / 1000).toFixed(1)} ms sampled`);
  for (const [k, us] of rows.slice(0, top)) {
    console.log(`  ${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
  }
}

const server = await startServer({ root, corpusDir });
const url = server.addWorker(`/w/${contestant.name}.js`, contestant.source(root), { wasm: !!contestant.wasm });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-profile-'));
const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'] });
try {
  const page = context.pages()[0] || (await context.newPage());
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => window.bench && window.bench.ready);
  const cdp = await context.newCDPSession(page);
  // Non-flat auto-attach: the worker's protocol messages travel through this session.
  let nextId = 1;
  const pending = new Map();
  let workerSession = null;
  let attached;
  const attachedP = new Promise((r) => (attached = r));
  const toWorker = (method, params = {}) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    cdp.send('Target.sendMessageToTarget', { sessionId: workerSession, message: JSON.stringify({ id, method, params }) });
  });
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message);
    const p = m.id && pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  });
  cdp.on('Target.attachedToTarget', async (e) => {
    if (e.targetInfo.type !== 'worker' || workerSession) return;
    workerSession = e.sessionId;
    await toWorker('Profiler.enable');
    await toWorker('Profiler.setSamplingInterval', { interval: 100 });
    await toWorker('Profiler.start');
    await toWorker('Runtime.runIfWaitingForDebugger');
    attached();
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: false });
  for (const file of files) {
    await page.evaluate((id) => window.bench.loadCorpus(id), file);
    workerSession = null;
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await cdp.send('Profiler.start');
    const run = page.evaluate((o) => window.bench.run(o), { url, feed: contestant.feed, mode: 'stream', segmentMs: 5000, hold: true });
    await attachedP;
    const r = await run;
    const main = (await cdp.send('Profiler.stop')).profile;
    const worker = (await toWorker('Profiler.stop')).profile;
    await page.evaluate(() => window.bench.release());
    if (r.mismatches.length) throw new Error(r.mismatches.join('; '));
    console.log(`\n== ${contestant.name} on ${file}: ${(r.inputBytes / 1e6 / (r.e2eMs / 1000)).toFixed(2)} MB/s ` +
      `(e2e ${r.e2eMs.toFixed(1)} ms, posting loop ${r.loopMs.toFixed(1)} ms, ${r.events} events; the profiler slows both)`);
    print('worker', worker);
    print('main thread (page)', main);
    fs.mkdirSync(path.join(root, 'bench/.variants'), { recursive: true });
    for (const [k, prof] of [['worker', worker], ['main', main]]) {
      fs.writeFileSync(path.join(root, `bench/.variants/profile-${contestant.name}-${file}-${k}.cpuprofile`), JSON.stringify(prof));
    }
    break; // one file per invocation keeps the attach logic simple
  }
} finally {
  await context.close();
  fs.rmSync(dir, { recursive: true, force: true });
  await server.close();
}
