#!/usr/bin/env node
// How much a second worker could take off big events: the large events of a corpus file (every event of at
// least `--min` bytes of JSON, by default 1 MB: d1's full snapshots) compressed by the shipped worker file in
// Chromium, once by one worker and once split between two workers of the same file running at the same time.
//
// Each event is one segment in Sentry's protocol (`addEvent`, then `finish`), so both arrangements do the same
// work per event, and the two workers' shares are balanced by bytes. Every output is inflated and compared with
// the event's text once (not timed). A pass on fresh workers (the module not yet optimized) and the best of the
// warm passes are reported. The ratio is an upper bound on what splitting big events across workers gives: it
// leaves out forwarding the text from the first worker to the second and splicing the second's deflate output
// into the first's stream, and it assumes a core that nothing else needs (in a recording page the main thread
// serializes the events while the worker compresses them). Figures go to bench/README.md.
//
//   node bench/parallel.mjs [--files d1] [--reps 3] [--min 1000000]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';
import { launchBrowser } from '../tests/lib/browser.mjs';
import { machineInfo, cli, corpusFiles } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { opt } = cli(process.argv.slice(2));
const reps = Number(opt('reps', 3));
const min = Number(opt('min', 1e6));
const corpusDir = path.join(root, 'tests/corpus');
const files = corpusFiles(corpusDir, opt('files', 'd1'));

const srv = await startServer({ root, corpusDir });
const workerUrl = srv.addWorker('/w/ringflate.js', fs.readFileSync(path.join(root, 'dist/ringflate-worker.js')), { wasm: true });
const browser = await launchBrowser();
const rows = [];
try {
  const page = await browser.newPage();
  await page.goto(`${srv.origin}/`);
  for (const file of files) {
    const r = await page.evaluate(
      async ({ file, workerUrl, reps, min }) => {
        const text = await (await fetch(`/corpus/${file}.ndjson`)).text();
        const big = text.split('\n').filter((l) => l.length >= min);
        if (!big.length) return { file, error: `no event of ${min} bytes or more` };
        const spawn = () =>
          new Promise((resolve, reject) => {
            const w = new Worker(workerUrl);
            const waiting = new Map();
            let id = 0;
            w.onerror = (e) => reject(new Error(e.message));
            w.onmessage = ({ data }) => {
              if (data.method === 'init') return data.success ? resolve(call) : reject(new Error('init failed'));
              const done = waiting.get(data.id);
              waiting.delete(data.id);
              if (done) done(data);
            };
            const call = (method, arg) =>
              new Promise((ok) => {
                waiting.set(++id, ok);
                w.postMessage({ id, method, arg });
              });
            call.terminate = () => w.terminate();
          });
        // One segment per event; resolves with the compressed segments.
        const run = async (call, list) => {
          const out = [];
          for (const e of list) {
            const a = await call('addEvent', e);
            if (!a.success) throw new Error('addEvent failed: ' + a.response);
            const f = await call('finish');
            if (!f.success) throw new Error('finish failed');
            out.push(f.response);
          }
          return out;
        };
        const inflate = async (bytes) => new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'))).text();
        const check = async (list, outs) => {
          for (let i = 0; i < list.length; i++) if ((await inflate(outs[i])) !== '[' + list[i] + ']') throw new Error(`event ${i}: the output does not inflate to it`);
        };
        // The two workers' shares, balanced by bytes (largest first, each to the lighter side).
        const halves = [[], []];
        const load = [0, 0];
        for (const e of [...big].sort((a, b) => b.length - a.length)) {
          const k = load[0] <= load[1] ? 0 : 1;
          halves[k].push(e);
          load[k] += e.length;
        }
        // Each event cut in two halves, one per worker (what splitting an event's deflate stream in two, as pigz
        // does, would give each worker), balanced whatever the sizes. The worker takes only whole events, so each
        // half travels as the string payload of a custom event; one worker compressing the same halves is the
        // baseline for this arrangement.
        const wrap = (t) => JSON.stringify({ type: 5, timestamp: 0, data: { tag: 'half', payload: t } });
        const cut = [big.map((e) => wrap(e.slice(0, e.length >> 1))), big.map((e) => wrap(e.slice(e.length >> 1)))];
        const res = { file, events: big.length, bytes: big.reduce((n, e) => n + e.length, 0), one: [], two: [], oneHalves: [], halves: [] };
        // One arrangement: a fresh worker per list, all lists at once, three passes.
        const arrange = async (key, lists, rep) => {
          const ws = [];
          for (const _ of lists) ws.push(await spawn());
          for (let pass = 0; pass < 3; pass++) {
            const t = performance.now();
            const outs = await Promise.all(ws.map((c, k) => run(c, lists[k])));
            res[key].push({ rep, pass, ms: performance.now() - t });
            if (rep === 0 && pass === 0) for (let k = 0; k < lists.length; k++) await check(lists[k], outs[k]);
          }
          ws.forEach((c) => c.terminate());
        };
        for (let rep = 0; rep < reps; rep++) {
          await arrange('one', [big], rep);
          await arrange('two', halves, rep);
          await arrange('oneHalves', [[...cut[0], ...cut[1]]], rep);
          await arrange('halves', cut, rep);
        }
        return res;
      },
      { file, workerUrl, reps, min },
    );
    if (r.error) throw new Error(`${file}: ${r.error}`);
    rows.push(r);
  }
} finally {
  await browser.close();
  await srv.close();
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};
const m = machineInfo();
console.log(`# big events across two workers (${new Date().toISOString().slice(0, 10)}, ${m.cpu}, ${m.cores} cores)\n`);
console.log(`load average at the end: ${m.loadavg}; worker file at ${m.commit}\n`);
console.log('| file | events | MB | pass | one worker: ms | two workers, whole events: ms | speed-up | one worker, halves: ms | two workers, a half each: ms | speed-up |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  for (const [name, warm] of [['fresh', false], ['warm', true]]) {
    const t = (k) => median(r[k].filter((x) => (x.pass > 0) === warm).map((x) => x.ms));
    const [one, two, oneHalves, halves] = [t('one'), t('two'), t('oneHalves'), t('halves')];
    console.log(`| ${r.file} | ${r.events} | ${(r.bytes / 1e6).toFixed(1)} | ${name} | ${one.toFixed(0)} | ${two.toFixed(0)} | ${(one / two).toFixed(2)}× | ${oneHalves.toFixed(0)} | ${halves.toFixed(0)} | ${(oneHalves / halves).toFixed(2)}× |`);
  }
}
console.log(`\nMedians of ${reps} repetitions (fresh: the first pass of new workers; warm: passes 2–3). Outputs inflated and compared.`);
