#!/usr/bin/env node
// Where the worker keeps what it has not delivered: IndexedDB (what it uses) against the Origin Private File
// System (OPFS, `createSyncAccessHandle` in a dedicated worker), measured in headless Chromium with an on-disk
// profile, in one run, on the worker's own write pattern:
//
// - an open segment's record, rewritten after every batch: a segment of 22 partials (5.5 s at one partial per
//   250 ms) whose record grows to S bytes, written whole each time (IndexedDB `put`, one readwrite transaction
//   per write as the bootstrap does; OPFS: the whole file at offset 0, then `flush`), and for OPFS also
//   appended (only the new chunk at the end of the file, then `flush`), and for IndexedDB also as one record per
//   chunk (only the new bytes put), plus the worker thread's own time of the rewrite (puts issued, not awaited,
//   as the bootstrap issues them);
// - the start-up read of a page load: every record (10 MiB in records of 256 KiB) read back.
//
// Every write is read back and compared once per case (not timed). The figures go to bench/README.md.
//
//   node bench/storage.mjs [--reps 5]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../tests/lib/server.mjs';
import { launchBrowser } from '../tests/lib/browser.mjs';
import { machineInfo } from './lib/report.mjs';

const argv = process.argv.slice(2);
const reps = Number(argv[argv.indexOf('--reps') + 1]) || (argv.includes('--reps') ? 1 : 5);

// Runs in a dedicated worker, as the ringflate bootstrap does.
const WORKER = `
const now = () => performance.now();
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const bytes = (n, seed) => { const b = new Uint8Array(n); let x = seed | 1; for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x; } return b; };
const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
const req = (r) => new Promise((ok, no) => { r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
const done = (t) => new Promise((ok, no) => { t.oncomplete = ok; t.onabort = t.onerror = () => no(t.error); });

async function openDb() {
  const r = indexedDB.open('storage-bench', 1);
  r.onupgradeneeded = () => r.result.createObjectStore('r');
  return req(r);
}
async function idbPut(db, key, value) {
  const t = db.transaction('r', 'readwrite');
  t.objectStore('r').put(value, key);
  await done(t);
}
async function idbClear(db) {
  const t = db.transaction('r', 'readwrite');
  t.objectStore('r').clear();
  await done(t);
}

// One segment whose record grows to \`size\` over 22 partials.
function partials(size, seed) {
  const all = bytes(size, seed);
  const cuts = Array.from({ length: 22 }, (_, i) => Math.round((size * (i + 1)) / 22));
  return { all, cuts };
}

async function segmentIdb(db, size, seed, check) {
  const { all, cuts } = partials(size, seed);
  const t0 = now();
  for (const c of cuts) await idbPut(db, 'open', all.subarray(0, c).slice());
  const ms = now() - t0;
  if (check) {
    const t = db.transaction('r');
    const got = await req(t.objectStore('r').get('open'));
    if (!same(new Uint8Array(got), all)) throw new Error('IndexedDB read back differs');
  }
  await idbClear(db);
  return ms;
}

// The same segment kept as one record per partial's chunk: each write puts only the new bytes.
async function segmentIdbChunks(db, size, seed, check) {
  const { all, cuts } = partials(size, seed);
  const t0 = now();
  let at = 0;
  for (let i = 0; i < cuts.length; i++) {
    await idbPut(db, 'open/' + String(i).padStart(4, '0'), all.subarray(at, cuts[i]).slice());
    at = cuts[i];
  }
  const ms = now() - t0;
  if (check) {
    const t = db.transaction('r');
    const got = await req(t.objectStore('r').getAll());
    const joined = new Uint8Array(got.reduce((n, b) => n + b.byteLength, 0));
    let o = 0;
    for (const b of got) joined.set(new Uint8Array(b), o), (o += b.byteLength);
    if (!same(joined, all)) throw new Error('IndexedDB chunk records read back differ');
  }
  await idbClear(db);
  return ms;
}

// The worker thread's own time for the rewrite pattern: issuing each put, without waiting for it (as the
// bootstrap does), then waiting once at the end (not timed).
async function segmentIdbIssue(db, size, seed) {
  const { all, cuts } = partials(size, seed);
  let ms = 0;
  const pending = [];
  for (const c of cuts) {
    const t0 = now();
    const t = db.transaction('r', 'readwrite');
    t.objectStore('r').put(all.subarray(0, c).slice(), 'open');
    ms += now() - t0;
    pending.push(done(t));
    await new Promise((r) => setTimeout(r, 0));
  }
  await Promise.all(pending);
  await idbClear(db);
  return ms;
}

async function segmentOpfs(dir, size, seed, append, check) {
  const { all, cuts } = partials(size, seed);
  const fh = await dir.getFileHandle('open', { create: true });
  const t0 = now();
  const h = await fh.createSyncAccessHandle();
  let at = 0;
  for (const c of cuts) {
    if (append) {
      h.write(all.subarray(at, c), { at });
    } else {
      h.truncate(0);
      h.write(all.subarray(0, c), { at: 0 });
    }
    at = c;
    h.flush();
  }
  const ms = now() - t0;
  if (check) {
    const got = new Uint8Array(h.getSize());
    h.read(got, { at: 0 });
    if (!same(got, all)) throw new Error('OPFS read back differs');
  }
  h.close();
  await dir.removeEntry('open');
  return ms;
}

async function startupIdb(db, n, size) {
  for (let i = 0; i < n; i++) await idbPut(db, 'k' + String(i).padStart(4, '0'), bytes(size, i + 1));
  const t0 = now();
  const t = db.transaction('r');
  const s = t.objectStore('r');
  const [keys, values] = await Promise.all([req(s.getAllKeys()), req(s.getAll())]);
  const ms = now() - t0;
  if (keys.length !== n || !same(new Uint8Array(values[n - 1]), bytes(size, n))) throw new Error('IndexedDB start-up read differs');
  await idbClear(db);
  return ms;
}

async function startupOpfs(dir, n, size) {
  for (let i = 0; i < n; i++) {
    const h = await (await dir.getFileHandle('k' + String(i).padStart(4, '0'), { create: true })).createSyncAccessHandle();
    h.write(bytes(size, i + 1), { at: 0 });
    h.flush();
    h.close();
  }
  const t0 = now();
  const out = [];
  for await (const [name, fh] of dir.entries()) {
    const h = await fh.createSyncAccessHandle();
    const b = new Uint8Array(h.getSize());
    h.read(b, { at: 0 });
    h.close();
    out.push([name, b]);
  }
  const ms = now() - t0;
  out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  if (out.length !== n || !same(out[n - 1][1], bytes(size, n))) throw new Error('OPFS start-up read differs');
  for (const [name] of out) await dir.removeEntry(name);
  return ms;
}

onmessage = async ({ data: { reps } }) => {
  try {
    const db = await openDb();
    const dir = await navigator.storage.getDirectory();
    const rows = [];
    for (const size of [64 << 10, 1 << 20, 8 << 20]) {
      const r = { size, idb: [], idbIssue: [], idbChunks: [], opfsRewrite: [], opfsAppend: [] };
      for (let i = 0; i < reps; i++) {
        // Interleaved, so a slow moment of the machine falls on all of them.
        r.idb.push(await segmentIdb(db, size, i + 1, i === 0));
        r.idbIssue.push(await segmentIdbIssue(db, size, i + 1));
        r.idbChunks.push(await segmentIdbChunks(db, size, i + 1, i === 0));
        r.opfsRewrite.push(await segmentOpfs(dir, size, i + 1, false, i === 0));
        r.opfsAppend.push(await segmentOpfs(dir, size, i + 1, true, i === 0));
      }
      rows.push({ size, idb: median(r.idb), idbIssue: median(r.idbIssue), idbChunks: median(r.idbChunks), opfsRewrite: median(r.opfsRewrite), opfsAppend: median(r.opfsAppend) });
    }
    const start = { idb: [], opfs: [] };
    for (let i = 0; i < reps; i++) {
      start.idb.push(await startupIdb(db, 40, 256 << 10));
      start.opfs.push(await startupOpfs(dir, 40, 256 << 10));
    }
    postMessage({ rows, startup: { idb: median(start.idb), opfs: median(start.opfs) } });
  } catch (e) {
    postMessage({ error: String(e && e.stack || e) });
  }
};
`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-storage-'));
fs.writeFileSync(path.join(tmp, 'w.js'), WORKER);
fs.writeFileSync(path.join(tmp, 'index.html'), '<!doctype html><title>storage</title>');
const srv = await startServer();
srv.file('/w.js', path.join(tmp, 'w.js'));
srv.file('/index.html', path.join(tmp, 'index.html'));
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(`${srv.origin}/index.html`);
  const result = await page.evaluate(
    (reps) =>
      new Promise((resolve) => {
        const w = new Worker('/w.js');
        w.onmessage = (e) => resolve(e.data);
        w.postMessage({ reps });
      }),
    reps,
  );
  if (result.error) throw new Error(result.error);
  const m = machineInfo();
  const kib = (n) => (n >= 1 << 20 ? `${n / (1 << 20)} MiB` : `${n / 1024} KiB`);
  const ms = (x) => x.toFixed(1);
  console.log(`# storage: IndexedDB vs OPFS in a dedicated worker (${new Date().toISOString()})`);
  console.log(`${m.cpu}, ${m.cores} cores; ${m.chromium}; load average ${m.loadavg}; commit ${m.commit}; median of ${reps}`);
  console.log('');
  console.log('| open segment grows to | IndexedDB, record rewritten ×22 | of which the worker thread | IndexedDB, one record per chunk | OPFS, file rewritten ×22 | OPFS, chunk appended ×22 |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of result.rows) console.log(`| ${kib(r.size)} | ${ms(r.idb)} ms | ${ms(r.idbIssue)} ms | ${ms(r.idbChunks)} ms | ${ms(r.opfsRewrite)} ms | ${ms(r.opfsAppend)} ms |`);
  console.log('');
  console.log(`start-up read of 40 records of 256 KiB (10 MiB): IndexedDB ${ms(result.startup.idb)} ms, OPFS ${ms(result.startup.opfs)} ms`);
} finally {
  await browser.close();
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
