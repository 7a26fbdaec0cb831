// ringflate in Electron with a custom scheme: the renderer's files (index.html, your bundle, ringflate-worker.js)
// served as app://bundle/… by protocol.handle, each response with its own CSP header.
//
// The scheme must be registered as privileged before the app is ready: `standard` (real origin and relative URLs,
// so `new Worker('ringflate-worker.js')` and `worker-src 'self'` work), `secure` (a secure context, like https),
// `supportFetchAPI` (fetch() of app:// URLs, e.g. your own assets). The pages get PAGE_CSP, the worker file
// WORKER_CSP (electron-csp.cjs), which is what lets it compile its WebAssembly.
//
//   Sentry.replayIntegration({ workerUrl: 'app://bundle/ringflate-worker.js' })  // or a relative URL
const { app, BrowserWindow, protocol } = require('electron');
const fs = require('node:fs/promises');
const path = require('node:path');
const { cspFor } = require('./electron-csp.cjs');

const SCHEME = 'app';
const HOST = 'bundle';
const RENDERER = path.join(__dirname, 'renderer'); // your built renderer files; `npx ringflate init renderer`

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};

protocol.registerSchemesAsPrivileged([
  { scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

/** Answers one app:// request with a file below `root` and the CSP for its path; 404 for anything else. */
async function handleAppRequest(request, root = RENDERER) {
  const url = new URL(request.url);
  const notFound = () => new Response('not found', { status: 404, headers: { 'Content-Type': 'text/plain' } });
  if (url.protocol !== `${SCHEME}:` || url.host !== HOST) return notFound();
  let rel;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    return notFound();
  }
  if (rel.endsWith('/')) rel += 'index.html';
  const file = path.resolve(root, `.${rel}`);
  if (!file.startsWith(path.resolve(root) + path.sep)) return notFound();
  let body;
  try {
    body = await fs.readFile(file);
  } catch {
    return notFound();
  }
  return new Response(body, {
    status: 200,
    headers: {
      'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
      'Content-Security-Policy': cspFor(url.href),
    },
  });
}

app.whenReady().then(() => {
  protocol.handle(SCHEME, (request) => handleAppRequest(request));
  const win = new BrowserWindow({ width: 1200, height: 800 });
  win.loadURL(`${SCHEME}://${HOST}/index.html`);
});

module.exports = { SCHEME, HOST, RENDERER, handleAppRequest };
