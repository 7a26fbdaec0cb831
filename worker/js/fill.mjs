// Fills in the bootstrap's build placeholders: the inlined module, the engine protocol version (defined once, in
// worker/src/engine/protocol.rs) and the package version (host-js/package.json). Used by worker/build.mjs and by the
// bootstrap's unit tests, so both run the same script.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The engine protocol version and the package version. */
export function versions() {
  const protocolRs = fs.readFileSync(path.join(root, 'worker/src/engine/protocol.rs'), 'utf8');
  const protocol = /pub const PROTOCOL_VERSION: u32 = (\d+);/.exec(protocolRs)?.[1];
  if (!protocol) throw new Error('PROTOCOL_VERSION not found in worker/src/engine/protocol.rs');
  const version = JSON.parse(fs.readFileSync(path.join(root, 'host-js/package.json'), 'utf8')).version;
  if (!/^[0-9A-Za-z.+-]+$/.test(version || '')) throw new Error(`host-js/package.json version ${version} is not a version`);
  return { protocol: Number(protocol), version };
}

/** worker/js/bootstrap.js with `wasmBase64` (the deflated module, base64) and the versions filled in. */
export function filledBootstrap(wasmBase64) {
  const { protocol, version } = versions();
  const source = fs.readFileSync(path.join(root, 'worker/js/bootstrap.js'), 'utf8')
    .replace('__RINGFLATE_WASM__', () => wasmBase64)
    .replace('__RINGFLATE_PROTOCOL__', String(protocol))
    .replace('__RINGFLATE_VERSION__', version);
  if (source.includes('__RINGFLATE_')) throw new Error('a build placeholder is left in the bootstrap');
  return source;
}

/**
 * The worker script before minification: the wasm-bindgen glue and the bootstrap in one strict function scope.
 * The glue sits in `glue()`, which returns a fresh copy of it each time, so that the bootstrap can instantiate
 * the compiled module again (after a trap, or to give memory back).
 */
export function workerSource(glue, bootstrap) {
  return `(function(){"use strict";\nfunction glue(){\n${glue}\nreturn wasm_bindgen;\n}\n${bootstrap}\n})();\n`;
}

/**
 * The wasm-bindgen glue (`--target no-modules`, the pinned version) without what the worker never runs: the
 * script URL lookup, fetching and streaming instantiation, and the asynchronous init. The bootstrap compiles the
 * module itself and instantiates it with `initSync({ module })`. Throws if the glue is not as expected.
 */
export function slimGlue(glue) {
  const cut = (from, to, by = '') => {
    const i = glue.indexOf(from);
    const j = glue.indexOf(to, i + from.length);
    if (i < 0 || j < 0) throw new Error(`wasm-bindgen glue: ${JSON.stringify(from.slice(0, 40))} not found`);
    glue = glue.slice(0, i) + by + glue.slice(j);
  };
  cut('    let script_src;', '\n    /**', '');
  cut('    async function __wbg_load(', '    function initSync(');
  cut('        if (module !== undefined) {', '        const imports = __wbg_get_imports();', '        module = module.module;\n');
  cut('    let __wbg_init_promise;', '})({ __proto__: null });', '    return Object.assign({ initSync }, exports);\n');
  // Strings of 4,096 characters or more reach linear memory with one `encodeInto` straight into an allocation
  // of the string's length (ASCII fits exactly), and a second one into room for 3 bytes per character of what
  // did not fit, instead of a JavaScript loop over every character up to the first non-ASCII one. Shorter
  // strings keep the loop: one builtin call per small event costs more than it saves (bench/README.md).
  const at = '        let ptr = malloc(len, 1) >>> 0;\n';
  const i = glue.indexOf(at);
  if (i < 0) throw new Error('wasm-bindgen glue: passStringToWasm0 not as expected');
  glue =
    glue.slice(0, i + at.length) +
    `        if (len >= 4096) {
            let r = cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(ptr, ptr + len));
            let offset = r.written;
            if (r.read < len) {
                arg = arg.slice(r.read);
                ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
                offset += cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(ptr + offset, ptr + len)).written;
                ptr = realloc(ptr, len, offset, 1) >>> 0;
            }
            WASM_VECTOR_LEN = offset;
            return ptr;
        }
` +
    glue.slice(i + at.length);
  return glue;
}
