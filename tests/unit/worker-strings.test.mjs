// Strings reach the module intact, whatever their length and characters: the built worker
// (dist/ringflate-worker.js, run in node as bench/wasm-node.mjs runs it) gets events of lengths on both sides of
// the glue's 4,096-character threshold (one `encodeInto` into an allocation of the string's length, a second
// for what did not fit), with ASCII only, non-ASCII at the start, the middle and the very end, 2-, 3- and
// 4-byte characters, and lone surrogates (which UTF-8 cannot hold: they arrive as U+FFFD, as TextEncoder writes
// them). Each `finish` is inflated and compared with the events' text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { loadWorker } from '../../bench/wasm-node.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORKER = path.join(ROOT, 'dist/ringflate-worker.js');

// Written by hand, not with JSON.stringify, which would escape lone surrogates as \\udXXX.
const event = (text) => `{"type":3,"timestamp":1,"data":{"source":5,"text":"${text}"}}`;
/** `text` of about `n` characters: `fill` repeated, with `at` inserted at the start, middle or end. */
function text(n, fill, at, where) {
  const base = fill.repeat(Math.ceil(n / fill.length)).slice(0, n);
  if (where === 'start') return at + base;
  if (where === 'end') return base + at;
  return base.slice(0, n >> 1) + at + base.slice(n >> 1);
}

test('events of every length and character mix reach the module and come back out intact', async () => {
  assert.ok(fs.existsSync(WORKER), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  const w = await loadWorker(WORKER);
  const cases = [];
  for (const n of [1, 100, 4000, 4095, 4096, 4097, 10000, 300000]) {
    for (const [fill, at] of [['a', ''], ['a', 'é'], ['a', '€'], ['a', '😀'], ['é', 'x'], ['€😀', 'a'], ['a', '\ud800'], ['a', '\udc00x'], ['a', '😀'.slice(0, 1)]]) {
      for (const where of ['start', 'middle', 'end']) cases.push(text(n, fill, at, where));
    }
  }
  let id = 0;
  for (let i = 0; i < cases.length; i += 20) {
    const batch = cases.slice(i, i + 20).map(event);
    for (const e of batch) {
      const r = w.call({ id: ++id, method: 'addEvent', arg: e });
      assert.deepEqual(r.map((m) => m.success), [true], `addEvent of ${e.length} characters`);
    }
    const [out] = w.call({ id: ++id, method: 'finish' });
    assert.equal(out.success, true);
    const got = zlib.inflateSync(Buffer.from(out.response)).toString('utf8');
    // What UTF-8 can hold of the events: lone surrogates become U+FFFD, as TextEncoder writes them.
    const want = Buffer.from('[' + batch.join(',') + ']', 'utf8').toString('utf8');
    assert.equal(got, want);
  }
});
