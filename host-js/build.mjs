#!/usr/bin/env node
// Builds the host script: dist/ringflate-host.mjs (ES module) and
// dist/ringflate-host.js (classic script, global `ringflate`), plus types.
// Prints the min+gzip size, which must stay at or under 3 KB.
import { buildSync } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(dir, 'dist');
fs.mkdirSync(dist, { recursive: true });
const common = { entryPoints: [path.join(dir, 'src/index.js')], bundle: true, minify: true, target: 'es2019', legalComments: 'none' };
buildSync({ ...common, format: 'esm', outfile: path.join(dist, 'ringflate-host.mjs') });
buildSync({ ...common, format: 'iife', globalName: 'ringflate', outfile: path.join(dist, 'ringflate-host.js') });
fs.copyFileSync(path.join(dir, 'src/index.d.ts'), path.join(dist, 'ringflate-host.d.ts'));
// The types it imports: the engine core's API and the protocol's messages.
for (const f of ['core.d.ts', 'protocol.d.ts']) fs.copyFileSync(path.join(dir, 'src', f), path.join(dist, f));
// The package ships the worker file too (`ringflate/worker`), built by worker/build.mjs.
const worker = path.join(dir, '../dist/ringflate-worker.js');
if (fs.existsSync(worker)) fs.copyFileSync(worker, path.join(dist, 'ringflate-worker.js'));
else console.warn('dist/ringflate-worker.js not built yet: run node worker/build.mjs first to include it');
const LIMIT = 3 * 1024;
const sizes = {};
for (const f of ['ringflate-host.mjs', 'ringflate-host.js']) {
  const code = fs.readFileSync(path.join(dist, f));
  sizes[f] = { raw: code.length, gzip: zlib.gzipSync(code, { level: 9 }).length };
  console.log(`host-js/dist/${f}: ${sizes[f].raw} bytes, ${sizes[f].gzip} min+gzip`);
}
fs.writeFileSync(path.join(dist, 'size.json'), JSON.stringify(sizes, null, 2) + '\n');
if (Object.values(sizes).some((s) => s.gzip > LIMIT)) {
  console.error(`host-js is over its ${LIMIT}-byte min+gzip budget`);
  process.exit(1);
}
