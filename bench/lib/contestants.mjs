// The contestants of the browser benchmark. Each is a dedicated worker that
// speaks Sentry's worker protocol ({id, method, arg} in, {id, method, success,
// response} out, a first {method:'init'} message when ready), so one host driver
// (bench/page/host.js, feeder 'sentry') serves them all.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

/** Sentry's own compression worker (fflate's Zlib at its default level), exactly the
 * source @sentry/replay embeds as a string and starts from a blob: URL. */
export function sentryWorkerSource(root) {
  const file = path.join(root, 'node_modules/@sentry/replay/build/npm/esm/index.js');
  const js = fs.readFileSync(file, 'utf8');
  // The bundle holds the worker as `const t = `...`;` followed by the blob-URL factory.
  const m = /const (\w+) = (`var t=Uint8Array[^`]*`);\s*\n\s*function \w+\(\) \{\s*const \w+ = new Blob\(\[\1\]/.exec(js);
  if (!m) throw new Error(`could not find Sentry's embedded worker source in ${file}`);
  const src = vm.runInNewContext(m[2]); // evaluates the template literal's escapes, nothing else
  if (!/postMessage\(\{id:void 0,method:"init",success:!0/.test(src)) throw new Error('unexpected Sentry worker source');
  return src;
}

export function pakoWorkerSource(root) {
  const pako = fs.readFileSync(path.join(root, 'node_modules/pako/dist/browser/pako_deflate.umd.min.js'), 'utf8');
  const driver = fs.readFileSync(path.join(root, 'bench/workers/pako-datadog.js'), 'utf8');
  return `${pako}\n${driver}`;
}

/** Not a compressor: stored blocks only. Its throughput is the protocol's own ceiling. */
export function storedBaselineSource(root) {
  return fs.readFileSync(path.join(root, 'bench/workers/stored-baseline.js'), 'utf8');
}

export function compressionStreamWorkerSource(root) {
  return fs.readFileSync(path.join(root, 'bench/workers/compression-stream.js'), 'utf8');
}

/**
 * The standard field. `feed` names the host feeder in bench/page/host.js.
 * `source(root)` returns the worker script; `wasm` marks a worker that needs
 * 'wasm-unsafe-eval' in the CSP sent with its file.
 */
export function standardContestants({ ringflateFile = 'dist/ringflate-worker.js' } = {}) {
  return [
    { name: 'fflate', label: "fflate Zlib (Sentry's worker)", feed: 'sentry', source: sentryWorkerSource },
    { name: 'ringflate', label: 'ringflate', feed: 'sentry', wasm: true, direct: true,
      source: (root) => fs.readFileSync(path.resolve(root, ringflateFile), 'utf8'), file: ringflateFile },
    { name: 'pako', label: 'pako Deflate (Datadog-style)', feed: 'sentry', source: pakoWorkerSource },
    { name: 'cstream', label: "CompressionStream('deflate')", feed: 'sentry', source: compressionStreamWorkerSource },
    { name: 'stored', label: 'reference: no compression (stored blocks)', feed: 'sentry', source: storedBaselineSource, reference: true },
    // ringflate's engine mode: the same worker file, fed one message per burst of events
    // (feeder 'engine' in bench/page/host.js). A further feed is one more entry with its feeder.
    { name: 'ringflate-engine', label: 'ringflate engine mode (batches)', feed: 'engine', wasm: true,
      source: (root) => fs.readFileSync(path.resolve(root, ringflateFile), 'utf8'), file: ringflateFile },
  ];
}
