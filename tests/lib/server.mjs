// A loopback HTTP server for browser tests: static routes with per-route headers (so a page and the worker
// file can carry different CSPs), a request log, and a Sentry ingest endpoint that parses every envelope
// strictly (./envelope.mjs).
//
//   const srv = await startServer({ sentry: { projectId: '42', key: 'abc', expectCompressed: true } });
//   srv.file('/app/index.html', 'tests/pages/app.html', { 'Content-Security-Policy': "default-src 'self'" });
//   srv.file('/w/ringflate-worker.js', 'dist/ringflate-worker.js');          // no CSP on the worker
//   srv.body('/data.json', '{"a":1}');                                       // in-memory body
//   srv.dir('/static/', 'tests/pages', headers);                             // a whole directory
//   srv.origin                      // 'http://127.0.0.1:<port>'
//   srv.dsn                         // DSN that points at the ingest endpoint
//   srv.use(middleware)             // Connect-style (req, res, next), e.g. a helmet CSP; runs before routing
//   srv.count('/w/ringflate-worker.js')  // how many times a path was requested
//   srv.log                         // [{ method, path, url, host, time, status, csp }] (csp: the CSP header sent)
//   srv.envelopes / srv.replays / srv.failures
//   await srv.waitFor(() => srv.replays.find(...), 10000, 'what we wait for')
//   await srv.close()
//
// Fault knobs (none is active unless a test sets it):
//   srv.answers.push({ status: 500 }, { status: 429, headers: { 'Retry-After': '3' } })
//                                   // the next ingest requests get these answers, in order, unparsed
//                                   // (their headers are exposed to cross-origin pages)
//   await srv.down()                // stop listening: connections are refused (the port stays reserved)
//   await srv.up()                  // listen again on the same port
//   srv.ingestLog                   // every ingest request: { time, status, bytes }
//
// Ingest: POST /api/<projectId>/envelope/?sentry_version=7&sentry_key=<key> (and `tunnel`, if given).
// Every body goes through parseEnvelope; what fails is recorded in `failures` (tests assert there are none)
// and still answered 200, as a real ingest would answer 400 — the SDK must not be the one to notice.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { parseEnvelope } from './envelope.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

export function contentType(p) {
  return TYPES[path.extname(p)] || 'application/octet-stream';
}

export async function startServer({ sentry = {}, host = '127.0.0.1' } = {}) {
  const projectId = sentry.projectId ?? '4242';
  const key = sentry.key ?? '0123456789abcdef0123456789abcdef';
  const routes = new Map(); // exact path → { get(): Buffer, headers, type }
  const dirs = []; // { prefix, dir, headers }
  const middlewares = [];
  const log = [];
  const envelopes = [];
  const failures = [];
  const answers = [];
  const ingestLog = [];
  const waiters = new Set();

  function notify() {
    for (const w of waiters) w();
  }

  function ingest(req, res, url, viaTunnel) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault = answers.shift();
      ingestLog.push({ time: Date.now(), status: fault ? fault.status : 200, bytes: body.length });
      if (fault) {
        res.writeHead(fault.status, { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': '*', ...fault.headers });
        res.end();
        notify();
        return;
      }
      try {
        if (!viaTunnel) {
          if (url.searchParams.get('sentry_version') !== '7') throw new Error(`sentry_version is ${url.searchParams.get('sentry_version')}`);
          if (url.searchParams.get('sentry_key') !== key) throw new Error(`sentry_key is ${url.searchParams.get('sentry_key')}`);
        }
        const env = parseEnvelope(body, { expectCompressed: sentry.expectCompressed });
        if (viaTunnel && typeof env.header.dsn !== 'string') throw new Error('tunnelled envelope has no dsn in its header');
        env.receivedAt = Date.now();
        env.url = req.url;
        envelopes.push(env);
      } catch (e) {
        failures.push({ url: req.url, error: e.message, bytes: body.length });
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' });
      res.end('{}');
      notify();
    });
  }

  function serveFile(res, route, entry) {
    let data;
    try {
      data = route.get();
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(String(e.message));
      return;
    }
    const headers = { 'Content-Type': route.type, 'Cache-Control': 'no-store', ...route.headers };
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.writeHead(200);
    entry.status = 200;
    entry.csp = res.getHeader('content-security-policy') ?? null;
    res.end(data);
  }

  const server = http.createServer((req, res) => {
    let i = 0;
    const next = (err) => {
      if (err) {
        res.writeHead(500).end(String(err));
        return;
      }
      const mw = middlewares[i++];
      if (mw) mw(req, res, next);
      else handle(req, res);
    };
    next();
  });

  function handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    const entry = { method: req.method, path: url.pathname, url: req.url, host: req.headers.host, time: Date.now() };
    log.push(entry);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': '*',
      });
      res.end();
      return;
    }
    if (req.method === 'POST') {
      if (url.pathname === `/api/${projectId}/envelope/`) return ingest(req, res, url, false);
      if (sentry.tunnel && url.pathname === sentry.tunnel) return ingest(req, res, url, true);
      res.writeHead(404).end();
      return;
    }
    const route = routes.get(url.pathname);
    if (route) return serveFile(res, route, entry);
    for (const d of dirs) {
      if (!url.pathname.startsWith(d.prefix)) continue;
      const rel = decodeURIComponent(url.pathname.slice(d.prefix.length));
      const abs = path.resolve(d.dir, rel);
      if (!abs.startsWith(path.resolve(d.dir) + path.sep) || !fs.existsSync(abs) || !fs.statSync(abs).isFile()) break;
      return serveFile(res, { get: () => fs.readFileSync(abs), type: contentType(abs), headers: d.headers }, entry);
    }
    entry.status = 404;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('not found');
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const port = server.address().port;
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const origin = `http://${host}:${port}`;

  const srv = {
    port,
    origin,
    projectId,
    key,
    dsn: `http://${key}@${host}:${port}/${projectId}`,
    log,
    envelopes,
    failures,
    answers,
    ingestLog,
    /** Stops listening (connections to the port are refused) until up(). */
    down() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    /** Listens again on the same port. */
    up() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
    /** Serves a file from disk (read on each request, so a rebuilt file is picked up). */
    file(urlPath, filePath, headers = {}) {
      routes.set(urlPath, { get: () => fs.readFileSync(filePath), type: contentType(filePath), headers });
      return srv;
    },
    /** Serves an in-memory body; type from the URL's extension unless headers set Content-Type. */
    body(urlPath, data, headers = {}) {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
      routes.set(urlPath, { get: () => buf, type: contentType(urlPath), headers });
      return srv;
    },
    /** Adds a Connect-style middleware (req, res, next) that runs before routing. */
    use(fn) {
      middlewares.push(fn);
      return srv;
    },
    /** Serves every file under `dir` below `prefix` (which ends with '/'). */
    dir(prefix, dir, headers = {}) {
      dirs.push({ prefix, dir, headers });
      return srv;
    },
    /** Number of GET requests for a path. */
    count(urlPath) {
      return log.filter((r) => r.method === 'GET' && r.path === urlPath).length;
    },
    /** Parsed replay envelopes (those carrying a replay_event), in arrival order. */
    get replays() {
      return envelopes.filter((e) => e.replay).map((e) => e.replay);
    },
    /** Resolves with the first truthy value of `fn()`, re-checked on every envelope; rejects after `ms`. */
    waitFor(fn, ms, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          let v;
          try {
            v = fn();
          } catch (e) {
            done();
            reject(e);
            return;
          }
          if (v) {
            done();
            resolve(v);
          }
        };
        const timer = setTimeout(() => {
          done();
          const got = srv.replays.map((r) => `#${r.segmentId}(${r.replayType}, ${r.events.length} events)`).join(' ');
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; replay segments received: ${got || 'none'}; ` +
            `other envelopes: ${envelopes.length - srv.replays.length}; parse failures: ${JSON.stringify(failures)}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections?.();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      });
    },
  };
  return srv;
}
