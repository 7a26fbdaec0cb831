// Shared helpers for the result tables: machine description, corpus listing, number formatting.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM } from './browser-bench.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function machineInfo() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() || os.cpus()[0]?.model || 'unknown CPU';
  let chromium = 'unknown Chromium';
  try {
    const out = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    chromium = /Chrom\w+ [\d.]+/.exec(out)?.[0] || out.trim();
  } catch { /* reported as unknown */ }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'worker', 'bench', ':!bench/results'], { cwd: root, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (with uncommitted changes in worker/ or bench/)';
  } catch { /* not a git checkout */ }
  return {
    cpu,
    cores: os.cpus().length,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    chromium,
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    commit,
  };
}

/** Corpus ids (file names without .ndjson.gz), optionally filtered by comma-separated substrings. */
export function corpusFiles(dir, filter) {
  const want = filter ? filter.split(',').filter(Boolean) : [];
  const ids = fs.readdirSync(dir).filter((n) => n.endsWith('.ndjson.gz')).map((n) => n.slice(0, -'.ndjson.gz'.length)).sort()
    .filter((id) => !want.length || want.some((w) => id.includes(w)));
  if (!ids.length) throw new Error(`no corpus files${filter ? ` matching ${filter}` : ''} in ${dir}`);
  return ids;
}

export function fmt(v, digits) {
  if (!Number.isFinite(v)) return '–';
  return digits === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
}

export function ratio(v, base) {
  if (!Number.isFinite(v) || !Number.isFinite(base) || base === 0) return '–';
  return `${(v / base).toFixed(2)}×`;
}

/** The command line's `--name` switches (`flag`) and `--name value` options (`opt`, with a default). */
export function cli(argv) {
  return {
    flag: (n) => argv.includes(`--${n}`),
    opt: (n, d) => {
      const i = argv.indexOf(`--${n}`);
      return i >= 0 ? argv[i + 1] : d;
    },
  };
}
