// The benchmark's local HTTP server (127.0.0.1 only): the host page, the
// contestants' worker scripts and the corpus, with real CSP headers.
//
// Worker scripts are registered as routes: `server.addWorker('/w/name.js', source, { wasm })`.
// A worker that compiles WebAssembly gets `script-src 'self' 'wasm-unsafe-eval'` in the CSP sent
// with its own file (what a site must do to serve ringflate); the others get `script-src 'self'`.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const PAGE_CSP = "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'";
const JS = 'text/javascript; charset=utf-8';

export async function startServer({ root, corpusDir }) {
  const routes = new Map();
  const corpusCache = new Map();
  const add = (url, body, type, csp) => routes.set(url, { body: Buffer.from(body), type, csp });
  add('/', fs.readFileSync(path.join(root, 'bench/page/host.html')), 'text/html; charset=utf-8', PAGE_CSP);
  add('/host.js', fs.readFileSync(path.join(root, 'bench/page/host.js')), JS, PAGE_CSP);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1').pathname;
    let r = routes.get(url);
    const m = /^\/corpus\/([\w.-]+)\.ndjson$/.exec(url);
    if (!r && m) {
      const file = path.join(corpusDir, `${m[1]}.ndjson.gz`);
      if (fs.existsSync(file)) {
        if (!corpusCache.has(m[1])) corpusCache.clear(), corpusCache.set(m[1], zlib.gunzipSync(fs.readFileSync(file)));
        r = { body: corpusCache.get(m[1]), type: 'application/x-ndjson; charset=utf-8', csp: "default-src 'none'" };
      }
    }
    if (!r) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': r.type,
      'Content-Length': r.body.length,
      'Content-Security-Policy': r.csp,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(r.body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    addWorker(url, source, { wasm = false } = {}) {
      add(url, source, JS, wasm ? "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" : "default-src 'none'; script-src 'self'");
      return url;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
