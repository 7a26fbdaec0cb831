#!/usr/bin/env node
// ringflate's command line.
//
//   npx ringflate init <dir> [--force] [--base <url path>]
//
// Copies the worker file of this package into <dir> as ringflate-worker.js (a stable name, so the CSP rule and
// the workerUrl that point at it never change between versions) and prints what the server and the page need.
// Exit status: 0 when the file was written or was already current, 1 when nothing was written because of a
// problem (<dir> missing, a different file in the way without --force), 2 for a usage error.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKER = path.join(here, '../dist/ringflate-worker.js');
const NAME = 'ringflate-worker.js';
// The policy the worker file itself must be served with (the same as csp/ in the repository, checked by its tests),
// and what the pages need to be allowed to start it.
const WORKER_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'";
const PAGE_WORKER_SRC = "worker-src 'self'";

const USAGE = `Usage: npx ringflate init <dir> [--force] [--base <url path>]

  Copies ringflate's worker into <dir> as ${NAME} (e.g. public/, static/).
  --force        overwrite a different ${NAME} already in <dir>
  --base <path>  the URL path <dir> is served at (default /), used in the printed workerUrl
`;

function version() {
  try {
    return JSON.parse(fs.readFileSync(path.join(here, '../package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function instructions(url) {
  return `
Serve ${NAME} with its own Content-Security-Policy header (WebAssembly is compiled inside the worker,
so 'wasm-unsafe-eval' is needed there, and not on your pages):

  Content-Security-Policy: ${WORKER_CSP}

Your pages' CSP must let them start it (no blob:, no 'wasm-unsafe-eval' needed on pages):

  ${PAGE_WORKER_SRC}

Then point at it. With Sentry:

  Sentry.replayIntegration({ workerUrl: '${url}' })

With ringflate's engine mode:

  startReplay({ workerUrl: '${url}', /* dsn, sample rates, rrweb … */ })
`;
}

function init(args, out, err) {
  let force = false;
  let base = '/';
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--force' || a === '-f') force = true;
    else if (a === '--base') {
      base = args[++i];
      if (!base) {
        err(`ringflate init: --base needs a URL path, e.g. --base /assets/\n\n${USAGE}`);
        return 2;
      }
    } else if (a.startsWith('-')) {
      err(`ringflate init: unknown option ${a}\n\n${USAGE}`);
      return 2;
    } else rest.push(a);
  }
  if (rest.length !== 1) {
    err(`ringflate init: ${rest.length ? 'one directory only' : 'which directory? e.g. npx ringflate init public/'}\n\n${USAGE}`);
    return 2;
  }
  const dir = rest[0];
  if (!fs.existsSync(WORKER)) {
    err(`ringflate init: this package has no worker file (${WORKER}); reinstall ringflate\n`);
    return 1;
  }
  let stat;
  try {
    stat = fs.statSync(dir);
  } catch {
    err(`ringflate init: ${dir} does not exist. Create it (mkdir -p ${dir}) or name your static folder, e.g. public/\n`);
    return 1;
  }
  if (!stat.isDirectory()) {
    err(`ringflate init: ${dir} is not a directory\n`);
    return 1;
  }
  const dest = path.join(dir, NAME);
  const url = `${base.endsWith('/') ? base : `${base}/`}${NAME}`;
  const worker = fs.readFileSync(WORKER);
  const v = version();
  if (fs.existsSync(dest)) {
    const existing = fs.readFileSync(dest);
    if (existing.equals(worker)) {
      out(`${dest} is already current (ringflate ${v}); nothing to do.\n${instructions(url)}`);
      return 0;
    }
    if (!force) {
      err(`ringflate init: ${dest} exists and differs from ringflate ${v}'s worker (another version, or another file).\n` +
        'Nothing was written. Run again with --force to replace it.\n');
      return 1;
    }
  }
  const tmp = `${dest}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, worker);
  fs.renameSync(tmp, dest);
  out(`${force ? 'Replaced' : 'Wrote'} ${dest} (ringflate ${v}, ${worker.length} bytes).\n${instructions(url)}`);
  return 0;
}

function main(argv) {
  const out = (s) => process.stdout.write(s);
  const err = (s) => process.stderr.write(s);
  const [cmd, ...args] = argv;
  if (cmd === 'init') return init(args, out, err);
  if (cmd === '--version' || cmd === '-v') {
    out(`${version()}\n`);
    return 0;
  }
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    (cmd === undefined ? err : out)(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  err(`ringflate: unknown command ${cmd}\n\n${USAGE}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
