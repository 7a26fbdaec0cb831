// ringflate in Electron: the two policies and the rule that picks one for a URL, shared by the Electron recipes
// (electron-main.cjs for http(s) content, electron-protocol.cjs for an app:// scheme).
//
// A worker started from a URL runs under the CSP of its own response. The worker file needs 'wasm-unsafe-eval'
// (it compiles its inlined WebAssembly); the pages do not, and should not get it.
//
// Replace https://*.ingest.sentry.io with your DSN's host.
const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self' https://*.ingest.sentry.io";
const WORKER_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'";
// The worker file in any directory, under the names it gets: ringflate-worker.js (`npx ringflate init`),
// ringflate-worker-<hash>.js (Vite's `ringflate/worker?url`), ringflate-worker.<hash>.js (webpack, with the asset
// rule in csp/README.md).
const WORKER_PATH = /\/ringflate-worker(?:[.-][A-Za-z0-9_-]+)?\.js$/;

/** The CSP for a response URL: the worker file gets its own. */
function cspFor(url) {
  let pathname = '';
  try {
    pathname = new URL(url).pathname;
  } catch {
    return PAGE_CSP;
  }
  return WORKER_PATH.test(pathname) ? WORKER_CSP : PAGE_CSP;
}

module.exports = { PAGE_CSP, WORKER_CSP, WORKER_PATH, cspFor };
