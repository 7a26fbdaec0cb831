// Bundles @sentry/browser from node_modules with esbuild into one classic script that sets `window.Sentry`,
// so a page can load it from its own origin under `script-src 'self'` (no inline script, no eval).
//
//   const file = await bundleSentry(dir)   // writes <dir>/sentry.js and returns its path
//
// Sentry's built-in compression worker (a blob: URL) is compiled out with
// __SENTRY_EXCLUDE_REPLAY_WORKER__, as Sentry documents for apps that pass their own `workerUrl`; a page
// using this bundle can only compress through the worker it names.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function bundleSentry(outDir, { withRrweb = false } = {}) {
  const outfile = path.join(outDir, 'sentry.js');
  const contents = [
    "import * as Sentry from '@sentry/browser';",
    'window.Sentry = Sentry;',
    withRrweb ? "import * as rrweb from 'rrweb'; window.rrweb = rrweb;" : '',
  ].join('\n');
  await build({
    stdin: { contents, resolveDir: ROOT, sourcefile: 'sentry-entry.js', loader: 'js' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    outfile,
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'error',
    define: { __SENTRY_EXCLUDE_REPLAY_WORKER__: 'true' },
  });
  return outfile;
}
