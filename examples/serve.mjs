#!/usr/bin/env node
// The demo server: serves the example pages under a strict CSP, the built
// worker, and a local ingest endpoint that parses every envelope strictly and
// keeps what it received for the segments view.
//
//   node examples/serve.mjs [--port N]     (binds to 127.0.0.1 only; see --help)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { parseEnvelope } from '../tests/lib/envelope.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const DEFAULT_PORT = 8080;

const HELP = `Usage: node examples/serve.mjs [--port N]
       bash .ci/demo                 (sets up, builds, then runs this)

Serves the ringflate demo on http://127.0.0.1:<port>/ (loopback only).

  --port N     port to listen on (default: $PORT, else ${DEFAULT_PORT})
  -h, --help   this text

Environment:
  PORT         port to listen on when --port is not given; bash .ci/demo passes it on,
               e.g. PORT=8090 bash .ci/demo
`;

function fail(message) {
  console.error(`ringflate demo: ${message}`);
  process.exit(1);
}

function parsePort(argv, env) {
  let raw = env.PORT || String(DEFAULT_PORT);
  let from = env.PORT ? 'PORT' : 'the default';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stdout.write(HELP);
      process.exit(0);
    } else if (a === '--port') {
      if (i + 1 >= argv.length) fail('--port needs a port number (see --help)');
      raw = argv[++i];
      from = '--port';
    } else if (a.startsWith('--port=')) {
      raw = a.slice('--port='.length);
      from = '--port';
    } else {
      fail(`unknown argument ${JSON.stringify(a)} (see --help)`);
    }
  }
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) fail(`${from} is ${JSON.stringify(raw)}, not a port number from 1 to 65535`);
  return port;
}

const port = parsePort(process.argv.slice(2), process.env);

const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:";
// The viewer replays recordings with rrweb, which writes inline styles into its iframe.
const VIEWER_CSP = "default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self'";
// The CSP sent with the worker file is what applies inside the worker.
const WORKER_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'";

const workerFile = path.join(root, 'dist/ringflate-worker.js');
if (!fs.existsSync(workerFile)) {
  fail('dist/ringflate-worker.js is missing: run `node worker/build.mjs` (or bash .ci/demo) first');
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

// What the endpoint received, per replay: its segments in segment-id order, each with its events exactly as
// they arrived (the player converts copies for playback, see src/playback.js).
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
    r = { replayId: event.replay_id, sdk: event.sdk?.name ?? env.header.sdk?.name ?? '?', segments: [] };
    replays.set(event.replay_id, r);
  }
  r.segments.push({ segmentId, replayType, events, compressedBytes: bodyBytes, jsonBytes: Buffer.byteLength(text) });
  r.segments.sort((a, b) => a.segmentId - b.segmentId);
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
    const list = [...replays.values()].map((r) => ({ ...r, segments: r.segments.map(({ events, ...seg }) => ({ ...seg, events: events.length })) }));
    return send(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(list));
  }
  const m = /^\/api\/replays\/([0-9a-f]{32})\/events$/.exec(url.pathname);
  if (m) {
    const r = replays.get(m[1]);
    return send(r ? 200 : 404, { 'content-type': 'application/json' }, JSON.stringify(r ? r.segments.flatMap((seg) => seg.events) : []));
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

server.on('error', (e) => {
  if (e.code === 'EADDRINUSE') fail(`port ${port} is already in use on 127.0.0.1; stop what uses it or pick another port: PORT=${port === 65535 ? 8090 : port + 1} bash .ci/demo (or --port)`);
  if (e.code === 'EACCES') fail(`not allowed to listen on port ${port}; pick a port above 1023: PORT=${DEFAULT_PORT} bash .ci/demo`);
  fail(`cannot listen on 127.0.0.1:${port}: ${e.message}`);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`ringflate demo: http://127.0.0.1:${port}/  (Ctrl-C to stop)`);
});
