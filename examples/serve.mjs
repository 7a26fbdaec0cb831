#!/usr/bin/env node
// The demo server: serves the example pages under a strict CSP, the built
// worker, and a local ingest endpoint that parses every envelope strictly and
// keeps what it received for the segments view.
//
//   node examples/serve.mjs [--port 8080]     (binds to 127.0.0.1 only)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { parseEnvelope } from '../tests/lib/envelope.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1] || process.env.PORT || 8080);

const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:";
// The viewer replays recordings with rrweb, which writes inline styles into its iframe.
const VIEWER_CSP = "default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self'";
// The CSP sent with the worker file is what applies inside the worker.
const WORKER_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'";

const workerFile = path.join(root, 'dist/ringflate-worker.js');
if (!fs.existsSync(workerFile)) {
  console.error('dist/ringflate-worker.js is missing: run `node worker/build.mjs` (or .ci/demo) first');
  process.exit(1);
}

// Page scripts are bundled once at start-up so the pages need only 'self'.
const bundles = {};
for (const name of ['sentry', 'sentry-ringflate', 'engine', 'segments']) {
  const out = buildSync({
    entryPoints: [path.join(here, 'src', name + '.js')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    write: false,
    logLevel: 'error',
    alias: { ringflate: path.join(root, 'host-js/src/index.js') }, // ringflate/sentry's engine core
  });
  bundles[`/app/${name}.js`] = out.outputFiles[0].contents;
}
bundles['/app/rrweb.css'] = fs.readFileSync(path.join(root, 'node_modules/rrweb/dist/style.css'));

const replays = new Map();

let otherEnvelopes = 0;

function ingest(body) {
  const env = parseEnvelope(body);
  if (!env.replay) {
    otherEnvelopes++; // error events, sessions: accepted, not shown
    return;
  }
  const { event, segmentId, replayType, events, text } = env.replay;
  const item = env.items.find((i) => i.header.type === 'replay_recording');
  const bodyBytes = item.payload.length - (item.payload.indexOf(10) + 1);
  let r = replays.get(event.replay_id);
  if (!r) {
    r = { replayId: event.replay_id, sdk: event.sdk?.name ?? env.header.sdk?.name ?? '?', segments: [], events: [] };
    replays.set(event.replay_id, r);
  }
  r.segments.push({ segmentId, replayType, events: events.length, compressedBytes: bodyBytes, jsonBytes: Buffer.byteLength(text) });
  r.segments.sort((a, b) => a.segmentId - b.segmentId);
  r.events.push(...events);
  r.events.sort((a, b) => a.timestamp - b.timestamp);
}

const types = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (status, headers, body) => {
    res.writeHead(status, headers);
    res.end(body);
  };
  if (req.method === 'POST' && /^\/api\/\d+\/envelope\/$/.test(url.pathname)) {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      try {
        ingest(Buffer.concat(parts));
        send(200, { 'content-type': 'application/json' }, '{}');
      } catch (e) {
        console.error('rejected envelope:', e.message || e);
        send(400, { 'content-type': 'text/plain' }, String(e.message || e));
      }
    });
    return;
  }
  if (url.pathname === '/api/segments') {
    const list = [...replays.values()].map(({ events, ...r }) => r);
    return send(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(list));
  }
  const m = /^\/api\/replays\/([0-9a-f]{32})\/events$/.exec(url.pathname);
  if (m) {
    const r = replays.get(m[1]);
    return send(r ? 200 : 404, { 'content-type': 'application/json' }, JSON.stringify(r ? r.events : []));
  }
  if (url.pathname === '/ringflate-worker.js') {
    return send(200, { 'content-type': types['.js'], 'content-security-policy': WORKER_CSP, 'cache-control': 'no-cache' },
      fs.readFileSync(workerFile));
  }
  if (bundles[url.pathname]) {
    const type = url.pathname.endsWith('.css') ? types['.css'] : types['.js'];
    return send(200, { 'content-type': type }, bundles[url.pathname]);
  }
  const file = path.join(here, 'public', url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
  if (!file.startsWith(path.join(here, 'public')) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    return send(404, { 'content-type': 'text/plain' }, 'not found');
  }
  const csp = file.endsWith('segments.html') ? VIEWER_CSP : PAGE_CSP;
  send(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'content-security-policy': csp }, fs.readFileSync(file));
});

server.listen(port, '127.0.0.1', () => {
  console.log(`ringflate demo: http://127.0.0.1:${port}/  (Ctrl-C to stop)`);
});
