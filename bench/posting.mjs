#!/usr/bin/env node
// What it costs the page to hand events to a worker, three ways, in Chromium: each corpus file's events in
// 250 ms batches (host-js's default `batchMs`), each batch serialized with JSON.stringify and then
//   - string:    posted as the string (what every host does now);
//   - encode:    encoded to UTF-8 with TextEncoder.encode and the bytes' buffer transferred;
//   - encodeInto: encoded with encodeInto into a buffer of 3 × the string's length, transferred.
// Timed on the page: the stringify and, separately, everything after it up to postMessage's return (the
// main-thread cost a host would add or save). The worker only answers with the size it got; every message is
// answered before the next way runs, and the ways are interleaved over the repetitions. In node it also times
// JSON.stringify against v8.serialize (the structured clone's serializer, what posting the event objects
// instead of strings would cost the page). And what `fetch` costs the page for a segment's body of a given size,
// given as the bytes (a Uint8Array) or as a Blob made from them (the Blob's construction counted), without
// keepalive (the server answers 404; the request is awaited before the next). Figures go to bench/README.md.
//
//   node bench/posting.mjs [--files d1,d2,d4] [--reps 5]
import path from 'node:path';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';
import { launchBrowser } from '../tests/lib/browser.mjs';
import { cli, corpusFiles, machineInfo } from './lib/report.mjs';
import { loadEvents } from './wasm-node.mjs';
import { median } from './lib/browser-bench.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { opt } = cli(process.argv.slice(2));
const reps = Number(opt('reps', 5));
const corpusDir = path.join(root, 'tests/corpus');
const files = corpusFiles(corpusDir, opt('files', 'd1,d2,d4'));

const rows = [];
for (const file of files) {
  const events = loadEvents(corpusDir, file).lines.map((l) => JSON.parse(l));
  const json = [];
  const ser = [];
  for (let r = 0; r < reps; r++) {
    let t = performance.now();
    for (const e of events) JSON.stringify(e);
    json.push(performance.now() - t);
    t = performance.now();
    for (const e of events) v8.serialize(e);
    ser.push(performance.now() - t);
  }
  rows.push({ file, node: { stringify: median(json), serialize: median(ser) } });
}

let fetches;
const srv = await startServer({ root, corpusDir });
const sink = srv.addWorker('/w/sink.js', 'onmessage = ({ data }) => postMessage(data.json ? data.json.length : data.bytes.byteLength);');
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(`${srv.origin}/`);
  for (const row of rows) {
    row.page = await page.evaluate(
      async ({ file, sink, reps }) => {
        const events = (await (await fetch(`/corpus/${file}.ndjson`)).text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
        const batches = [];
        for (let i = 0; i < events.length; ) {
          let j = i + 1;
          while (j < events.length && events[j].timestamp - events[i].timestamp < 250) j++;
          batches.push(events.slice(i, j));
          i = j;
        }
        const w = new Worker(sink);
        let waiting = 0;
        let got = 0;
        let done = null;
        w.onmessage = ({ data }) => {
          got += data;
          if (--waiting === 0 && done) done();
        };
        const enc = new TextEncoder();
        const out = { string: [], encode: [], encodeInto: [], stringify: [] };
        for (let r = 0; r < reps; r++) {
          for (const way of ['string', 'encode', 'encodeInto']) {
            await new Promise((ok) => setTimeout(ok, 100));
            let after = 0;
            let before = 0;
            got = 0;
            let want = 0;
            for (const b of batches) {
              const t0 = performance.now();
              const s = JSON.stringify(b);
              const t1 = performance.now();
              waiting++;
              if (way === 'string') {
                want += s.length;
                w.postMessage({ json: s });
              } else {
                const u = way === 'encode' ? enc.encode(s) : new Uint8Array(s.length * 3);
                const n = way === 'encode' ? u.length : enc.encodeInto(s, u).written;
                want += n;
                w.postMessage({ bytes: u.subarray(0, n) }, [u.buffer]);
              }
              after += performance.now() - t1;
              before += t1 - t0;
            }
            await new Promise((ok) => (waiting === 0 ? ok() : (done = ok)));
            done = null;
            if (got !== want) throw new Error(`${file} ${way}: the worker got ${got} units, ${want} were sent`);
            out[way].push(after);
            out.stringify.push(before);
          }
        }
        w.terminate();
        return { batches: batches.length, ...out };
      },
      { file: row.file, sink, reps },
    );
    for (const k of ['string', 'encode', 'encodeInto', 'stringify']) row.page[k] = median(row.page[k]);
  }
  fetches = await page.evaluate(async (reps) => {
    const out = [];
    for (const size of [50_000, 120_000, 500_000, 2_000_000]) {
      const t = { bytes: [], blob: [] };
      for (let i = 0; i < 3 * reps; i++) {
        for (const kind of ['bytes', 'blob']) {
          const u = new Uint8Array(size).map((_, k) => k & 255);
          const t0 = performance.now();
          const p = fetch(`/nowhere?${kind}${i}`, { method: 'POST', body: kind === 'blob' ? new Blob([u]) : u });
          t[kind].push(performance.now() - t0);
          await p;
        }
      }
      out.push({ size, ...t });
    }
    return out;
  }, reps);
  for (const f of fetches) (f.bytes = median(f.bytes)), (f.blob = median(f.blob));
} finally {
  await browser.close();
  await srv.close();
}

const m = machineInfo();
console.log(`# handing events to a worker (${new Date().toISOString().slice(0, 10)}, ${m.chromium}, node ${process.version}, ${m.cpu}, ${m.cores} cores, load average ${m.loadavg}; median of ${reps})\n`);
console.log('| file | batches | page: JSON.stringify ms | page: post the string ms | page: encode + transfer ms | page: encodeInto + transfer ms | node: JSON.stringify ms (per event) | node: v8.serialize ms (per event) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const p = r.page;
  console.log(`| ${r.file} | ${p.batches} | ${p.stringify.toFixed(1)} | ${p.string.toFixed(1)} | ${p.encode.toFixed(1)} | ${p.encodeInto.toFixed(1)} | ${r.node.stringify.toFixed(1)} | ${r.node.serialize.toFixed(1)} |`);
}
console.log(`\n| body | fetch(…, { body: bytes }) ms on the page | fetch(…, { body: new Blob([bytes]) }) ms, the Blob included |`);
console.log('|---|---:|---:|');
for (const f of fetches) console.log(`| ${(f.size / 1000).toLocaleString('en')} KB | ${f.bytes.toFixed(2)} | ${f.blob.toFixed(2)} |`);
