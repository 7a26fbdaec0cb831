// ringflate in Electron: one CSP for the pages, another for the worker file, set on the responses with
// session.webRequest.onHeadersReceived (for content served over http(s), e.g. a dev server or a remote app).
//
// A worker started from a URL runs under the CSP of its own response. Stamping one CSP on every response
// (the usual Electron recipe) sends `script-src 'self'` with the worker file too, and WebAssembly is then
// refused inside the worker. The worker file needs 'wasm-unsafe-eval'; the page does not.
//
// Pages loaded with loadFile() (file://) take their CSP from a <meta> tag (see meta-tag.html); the worker
// file then carries no policy and works. For a custom scheme (app://), set the same two headers in your
// protocol.handle() responses, using cspFor() below.
//
// Replace https://*.ingest.sentry.io with your DSN's host.
const { app, BrowserWindow, session } = require('electron');

const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self' https://*.ingest.sentry.io";
const WORKER_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'";

/** The CSP for a response URL: the worker file gets its own. */
function cspFor(url) {
  let pathname = '';
  try {
    pathname = new URL(url).pathname;
  } catch {
    return PAGE_CSP;
  }
  return pathname.endsWith('/ringflate-worker.js') ? WORKER_CSP : PAGE_CSP;
}

function installCsp(ses) {
  ses.webRequest.onHeadersReceived((details, callback) => {
    const responseHeaders = { ...details.responseHeaders };
    for (const name of Object.keys(responseHeaders)) {
      if (name.toLowerCase() === 'content-security-policy') delete responseHeaders[name];
    }
    responseHeaders['Content-Security-Policy'] = [cspFor(details.url)];
    callback({ responseHeaders });
  });
}

app.whenReady().then(() => {
  installCsp(session.defaultSession);
  const win = new BrowserWindow({ width: 1200, height: 800 });
  win.loadURL(process.env.APP_URL || 'http://localhost:5173/');
});

module.exports = { PAGE_CSP, WORKER_CSP, cspFor, installCsp };
