#!/usr/bin/env node
// Whether a separately fetched, stream-compiled module would start fast: the shipped worker file (module inlined,
// compiled from bytes) against a variant of the same file that compiles the same module with
// `WebAssembly.compileStreaming(fetch('ringflate.wasm'))`, the only path on which Chromium keeps compiled
// WebAssembly code between page loads. Both are served cacheable (`Cache-Control: max-age`). Each page load is
// a new Chromium process on an on-disk profile kept across the loads of one module kind (V8 shares compiled
// code between modules of identical bytes inside one process, which would hide a cold start); each load starts
// a new worker and feeds it a corpus file
// in Sentry's protocol (one `addEvent` per event, `finish` every 100 events), the way a recording page does
// right after start-up, after a probe: the file's largest event alone, compressed right after start-up. What is
// timed is the probe and that first feed of a fresh worker (its module not yet optimized on the inlined path);
// the last segment is inflated and compared with its events once per load.
//
// The variant is made from the built file by this script (the module extracted from the file, the compile call
// replaced); it is a measurement, not a shipped build. Figures go to bench/README.md.
//
//   node bench/codecache.mjs [--files d2,d4] [--loads 4] [--linger 3000]
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../tests/lib/browser.mjs';
import { machineInfo, corpusFiles, cli } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { opt } = cli(process.argv.slice(2));
const loads = Number(opt('loads', 4));
const linger = Number(opt('linger', 3000));
const corpusDir = path.join(root, 'tests/corpus');
const files = corpusFiles(corpusDir, opt('files', 'd2,d4'));

const shipped = fs.readFileSync(path.join(root, 'dist/ringflate-worker.js'), 'utf8');
const packed = /atob\((["'])([A-Za-z0-9+/=]{1000,})\1\)/.exec(shipped);
if (!packed) throw new Error('no inlined module found in dist/ringflate-worker.js');
const wasm = zlib.inflateRawSync(Buffer.from(packed[2], 'base64'));
if (wasm.readUInt32LE(0) !== 0x6d736100) throw new Error('the inlined module does not inflate to WebAssembly');
const compiles = shipped.split('WebAssembly.compile(').length - 1;
if (compiles !== 1) throw new Error(`expected one WebAssembly.compile( in the worker file, found ${compiles}`);
// The bytes are still decoded (a few ms), then ignored: the module comes from the stream.
const streaming = shipped.replace('WebAssembly.compile(', "(()=>WebAssembly.compileStreaming(fetch(new URL('ringflate.wasm',self.location.href))))(");

const JS = 'text/javascript; charset=utf-8';
const WORKER_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'";
const routes = new Map([
  ['/', { body: Buffer.from('<!doctype html><title>code cache</title>'), type: 'text/html; charset=utf-8', csp: "default-src 'none'; worker-src 'self'; connect-src 'self'" }],
  ['/inline/ringflate-worker.js', { body: Buffer.from(shipped), type: JS, csp: WORKER_CSP }],
  ['/stream/ringflate-worker.js', { body: Buffer.from(streaming), type: JS, csp: WORKER_CSP }],
  ['/stream/ringflate.wasm', { body: wasm, type: 'application/wasm', csp: "default-src 'none'" }],
]);
for (const f of files) routes.set(`/corpus/${f}.ndjson`, { body: zlib.gunzipSync(fs.readFileSync(path.join(corpusDir, `${f}.ndjson.gz`))), type: 'application/x-ndjson', csp: "default-src 'none'" });
const server = http.createServer((req, res) => {
  const r = routes.get(new URL(req.url, 'http://x').pathname);
  if (!r) return res.writeHead(404).end();
  res.writeHead(200, { 'Content-Type': r.type, 'Content-Length': r.body.length, 'Content-Security-Policy': r.csp, 'Cache-Control': 'max-age=86400' });
  res.end(r.body);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${server.address().port}`;

const rows = [];
try {
  for (const file of files) {
    for (const kind of ['inline', 'stream']) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-codecache-'));
      for (let load = 1; load <= loads; load++) {
        const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
        const page = context.pages()[0] || (await context.newPage());
        await page.goto(`${origin}/?load=${load}`);
        const r = await page.evaluate(
          async ({ url, file, linger }) => {
            const events = (await (await fetch(`/corpus/${file}.ndjson`)).text()).split('\n').filter(Boolean);
            const t0 = performance.now();
            const w = new Worker(url);
            const waiting = new Map();
            let id = 0;
            await new Promise((ok, no) => {
              w.onerror = (e) => no(new Error(e.message));
              w.onmessage = ({ data }) => {
                if (data.method === 'init') return data.success ? ok() : no(new Error('init failed'));
                const done = waiting.get(data.id);
                waiting.delete(data.id);
                if (done) done(data);
              };
            });
            const ready = performance.now() - t0;
            const call = (method, arg) =>
              new Promise((ok) => {
                waiting.set(++id, ok);
                w.postMessage({ id, method, arg });
              });
            // The file's largest event alone, right after start-up: what the module's code tier gives one call.
            const largest = events.reduce((a, e) => (e.length > a.length ? e : a), '');
            const tp = performance.now();
            await call('addEvent', largest);
            await call('finish');
            const probe = performance.now() - tp;
            const t = performance.now();
            let pending = [];
            let last;
            let from = 0;
            for (let i = 0; i < events.length; i++) {
              pending.push(call('addEvent', events[i]));
              if ((i + 1) % 100 === 0 || i === events.length - 1) {
                const f = call('finish');
                const all = await Promise.all(pending);
                if (all.some((a) => !a.success)) throw new Error('addEvent refused');
                last = { bytes: (await f).response, from, to: i + 1 };
                from = i + 1;
                pending = [];
              }
            }
            const ms = performance.now() - t;
            const text = await new Response(new Blob([last.bytes]).stream().pipeThrough(new DecompressionStream('deflate'))).text();
            const ok = text === '[' + events.slice(last.from, last.to).join(',') + ']';
            // V8 writes the cache entry only once no function has been optimized for --wasm-caching-timeout-ms
            // (2 s): the worker is kept alive that long after its work, as a page that goes on recording keeps it.
            await new Promise((ok) => setTimeout(ok, linger));
            w.terminate();
            return { ready, probe, probeMb: largest.length / 1e6, ms, mb: events.reduce((n, e) => n + e.length, 0) / 1e6, ok };
          },
          { url: `${origin}/${kind}/ringflate-worker.js`, file, linger },
        );
        if (!r.ok) throw new Error(`${file} ${kind} load ${load}: the last segment does not inflate to its events`);
        rows.push({ file, kind, load, ...r });
        await context.close();
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  server.close();
}

const m = machineInfo();
console.log(`# the first feed of a fresh worker, inlined vs stream-compiled module (${new Date().toISOString().slice(0, 10)}, ${m.chromium}, ${m.cpu}, ${m.cores} cores, worker file at ${m.commit}, load average ${m.loadavg})\n`);
console.log('| file | module | page load | ready: ms | largest event: MB | its compression: MB/s | first feed: ms | MB/s |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.file} | ${r.kind === 'inline' ? 'inlined (shipped)' : 'fetched, compileStreaming'} | ${r.load} | ${r.ready.toFixed(1)} | ${r.probeMb.toFixed(2)} | ${(r.probeMb / (r.probe / 1000)).toFixed(1)} | ${r.ms.toFixed(0)} | ${(r.mb / (r.ms / 1000)).toFixed(1)} |`);
console.log('\nEvery load\'s last segment inflated and compared with its events.');
