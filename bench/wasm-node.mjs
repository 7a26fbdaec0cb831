#!/usr/bin/env node
// The WebAssembly engine alone, in node's V8, with no worker messaging: the built worker file is
// evaluated in a context that stands in for a dedicated worker's global scope, and its onmessage
// handler is called directly, one Sentry-protocol `addEvent` per event and a `finish` every 5 s of
// event time (the same feed as the browser bench and the native `sentry_worker` row). What is left
// is what the module itself costs: the string's way into linear memory, deflate, Adler-32, the
// reply's bytes. Every finish output is inflated and compared with its events.
//
//   node bench/wasm-node.mjs [--ringflate dist/ringflate-worker.js] [--files d1] [--reps 5]
//                            [--bytes N] [--events N] [--no-verify] [--json]
//
// `--bytes N` keeps the first N bytes of the file's events (the last one cut short and closed with
// `}` so that it is still accepted): a slice small enough for valgrind. `--events N` keeps the first
// N events. Prints MB/s (best and median of the repetitions) per file; `--json` prints one JSON line.
// bench/run.mjs uses `measureWasm` for the "WebAssembly vs native" figure.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { corpusFiles, cli } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Loads a worker file into a fresh context; resolves with `{call(data) -> replies[]}` once it is ready. */
export async function loadWorker(file) {
  const source = fs.readFileSync(file, 'utf8');
  const replies = [];
  const listeners = [];
  const ctx = {
    console, atob, Response, DecompressionStream, TextEncoder, TextDecoder, WebAssembly, crypto,
    setTimeout, clearTimeout, Uint8Array, Promise,
    postMessage: (m) => replies.push(m),
    addEventListener: (type, fn) => listeners.push([type, fn]),
  };
  ctx.self = ctx;
  vm.createContext(ctx);
  vm.runInContext(source, ctx, { filename: path.basename(file) });
  for (let k = 0; k < 2000 && !replies.length; k++) await new Promise((r) => setTimeout(r, 5));
  const init = replies.shift();
  if (!init || init.method !== 'init' || init.success !== true) throw new Error(`worker did not start: ${JSON.stringify(init)}`);
  return {
    call(data) {
      ctx.onmessage({ data });
      return replies.splice(0);
    },
  };
}

/** The corpus file's events as JSON lines, optionally cut to the first `bytes` bytes or `events` events. */
export function loadEvents(corpusDir, id, { bytes = 0, events = 0 } = {}) {
  let lines = zlib.gunzipSync(fs.readFileSync(path.join(corpusDir, `${id}.ndjson.gz`))).toString('utf8').split('\n').filter(Boolean);
  if (events) lines = lines.slice(0, events);
  if (bytes) {
    const out = [];
    let n = 0;
    for (const l of lines) {
      if (n + l.length >= bytes) {
        out.push(`${l.slice(0, Math.max(1, bytes - n - 1))}}`);
        break;
      }
      out.push(l);
      n += l.length + 1;
    }
    lines = out;
  }
  // The top-level timestamp (a cut-short last event keeps the one before it).
  const ts = lines.map((l, i) => {
    try {
      return JSON.parse(l).timestamp;
    } catch {
      return i ? JSON.parse(lines[i - 1]).timestamp : 0;
    }
  });
  return { lines, ts, bytes: Buffer.byteLength(`[${lines.join(',')}]`) };
}

/** One pass of the Sentry feed; returns the milliseconds and the finish outputs with their event ranges. */
function feedOnce(w, { lines, ts }) {
  const outputs = [];
  let id = 0;
  let segStart = 0;
  let first = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < lines.length; i++) {
    if (i > first && ts[i] - ts[first] >= 5000) {
      outputs.push({ start: segStart, end: i, reply: w.call({ id: id++, method: 'finish' }) });
      segStart = first = i;
    }
    const r = w.call({ id: id++, method: 'addEvent', arg: lines[i] });
    if (!r.length || r[0].success !== true) throw new Error(`addEvent ${i}: ${JSON.stringify(r[0])}`);
  }
  outputs.push({ start: segStart, end: lines.length, reply: w.call({ id: id++, method: 'finish' }) });
  const cpu = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, outputs };
}

function verify(outputs, lines) {
  let compressed = 0;
  for (const o of outputs) {
    const r = o.reply[0];
    if (!r || r.success !== true || !(r.response instanceof Uint8Array)) throw new Error(`finish failed: ${JSON.stringify(r)}`);
    const z = Buffer.from(r.response);
    if (z[0] !== 0x78 || z[1] !== 0x9c) throw new Error(`zlib header ${z.subarray(0, 2).toString('hex')}, want 789c`);
    const got = zlib.inflateSync(z).toString('utf8');
    if (got !== `[${lines.slice(o.start, o.end).join(',')}]`) throw new Error(`segment ${o.start}..${o.end} does not inflate to its events`);
    compressed += z.length;
  }
  return compressed;
}

/** Best and median MB/s of `reps` passes over each file, after a warm-up pass (the fresh instance's first, `firstMs`). */
export async function measureWasm({ file, corpusDir, ids, reps = 5, bytes = 0, events = 0, check = true, warm = true }) {
  const out = [];
  for (const id of ids) {
    const data = loadEvents(corpusDir, id, { bytes, events });
    const w = await loadWorker(file);
    // The warm-up is the fresh instance's first pass: reported (firstMs), not counted in best / median.
    const firstMs = warm ? feedOnce(w, data).ms : NaN;
    const times = [];
    const cpus = [];
    let compressed = NaN;
    let finishes = 0;
    for (let r = 0; r < reps; r++) {
      const { ms, cpuMs, outputs } = feedOnce(w, data);
      times.push(ms);
      cpus.push(cpuMs);
      finishes = outputs.length;
      if (check && r === 0) compressed = verify(outputs, data.lines);
    }
    const sorted = times.slice().sort((a, b) => a - b);
    const med = sorted[sorted.length >> 1];
    const cpuSorted = cpus.slice().sort((a, b) => a - b);
    out.push({ file: id, events: data.lines.length, input: data.bytes, compressed, finishes, reps, firstMs, bestMs: sorted[0], medianMs: med,
      bestMbps: data.bytes / 1e6 / (sorted[0] / 1000), medianMbps: data.bytes / 1e6 / (med / 1000),
      bestCpuMs: cpuSorted[0], cpuMbps: data.bytes / 1e6 / (cpuSorted[0] / 1000) });
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const { opt } = cli(argv);
  const corpusDir = path.resolve(root, opt('corpus', 'tests/corpus'));
  const rows = await measureWasm({
    file: path.resolve(root, opt('ringflate', 'dist/ringflate-worker.js')),
    corpusDir,
    ids: corpusFiles(corpusDir, opt('files', 'd1')),
    reps: Number(opt('reps', 5)),
    bytes: Number(opt('bytes', 0)),
    events: Number(opt('events', 0)),
    check: !argv.includes('--no-verify'),
    warm: !argv.includes('--no-warm'),
  });
  for (const r of rows) {
    if (argv.includes('--json')) console.log(JSON.stringify(r));
    else console.log(`${r.file}: ${r.events} events, ${(r.input / 1e6).toFixed(2)} MB → ${r.compressed} B in ${r.finishes} finishes; ` +
      `best ${r.bestMbps.toFixed(1)} MB/s, median ${r.medianMbps.toFixed(1)} MB/s over ${r.reps} (wall); ` +
      `${r.cpuMbps.toFixed(1)} MB/s by CPU time (best)` +
      (Number.isFinite(r.firstMs) ? `; the fresh instance's first pass ${r.firstMs.toFixed(1)} ms (best ${r.bestMs.toFixed(1)} ms)` : ''));
  }
}
