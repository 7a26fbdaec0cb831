// Reads the rrweb corpus (tests/corpus/ in this repository): one event per line, each line
// exactly JSON.stringify(event) as the page produced it.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ROOT } from './bundle.mjs';

export const CORPUS_DIR = process.env.RINGFLATE_CORPUS || path.join(ROOT, 'tests/corpus');

/** The events of one corpus file (e.g. 'd4-spa-live-unmasked') as JSON strings, in recorded order. */
export function corpusLines(name) {
  const text = zlib.gunzipSync(fs.readFileSync(path.join(CORPUS_DIR, `${name}.ndjson.gz`))).toString('utf8');
  return text.split('\n').filter((l) => l.length > 0);
}

/** Deterministic PRNG (mulberry32): returns a function giving floats in [0, 1). */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
