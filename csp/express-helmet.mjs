// ringflate with Express + helmet: one CSP for the pages, another for the worker file.
//
// helmet() on every response sends `script-src 'self'` with the worker file too, and the browser then refuses
// to compile the worker's WebAssembly (the worker reports it and Sentry falls back to uncompressed replays).
// Give the worker file its own policy with 'wasm-unsafe-eval'; keep the page strict.
//
//   import express from 'express';
//   import helmet from 'helmet';
//   import { ringflateCsp } from './express-helmet.mjs';
//
//   const app = express();
//   app.use(helmet({ contentSecurityPolicy: false })); // helmet's other headers; the CSP comes next
//   app.use(ringflateCsp);
//   app.use(express.static('public'));                  // serves public/ringflate-worker.js (npx ringflate init public)
//                                                       // or a bundler's dist/assets/ringflate-worker-<hash>.js
//
// Replace https://*.ingest.sentry.io with your DSN's host (a tunnel on your own origin is covered by 'self').
import helmet from 'helmet';

/**
 * The worker file in any directory, under the names it gets: ringflate-worker.js (`npx ringflate init`),
 * ringflate-worker-<hash>.js (Vite's `ringflate/worker?url`), ringflate-worker.<hash>.js (webpack, with the asset
 * rule in csp/README.md).
 */
export const WORKER_PATH = /\/ringflate-worker(?:[.-][A-Za-z0-9_-]+)?\.js$/;

export const pageCsp = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    workerSrc: ["'self'"],
    connectSrc: ["'self'", 'https://*.ingest.sentry.io'],
  },
});

export const workerCsp = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
  },
});

/** Express/Connect middleware: the worker file gets `workerCsp`, every other response `pageCsp`. */
export function ringflateCsp(req, res, next) {
  const pathname = (req.url || '/').split('?')[0];
  return (WORKER_PATH.test(pathname) ? workerCsp : pageCsp)(req, res, next);
}
