// Runs contestants in headless Debian Chromium (playwright-core, never a downloaded
// browser) against the corpus, through the host driver in bench/page/host.js.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

export const CHROMIUM = process.env.RINGFLATE_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Measurement passes. 'stream': everything posted at once, finish every 5 s of event time
 * (throughput, bytes, main-thread time). 'paced5'/'paced60': the worker drains each segment
 * before `finish` is posted, so the finish latency is measured alone. */
export const PASSES = {
  stream: { mode: 'stream', segmentMs: 5000 },
  paced5: { mode: 'paced', segmentMs: 5000 },
  paced60: { mode: 'paced', segmentMs: 60000 },
  // Only for contestants marked `direct`: the worker file run inside a driver worker that calls its
  // handler directly (bench/workers/direct-driver.js), the module's own speed without messaging.
  direct: { mode: 'direct', segmentMs: 5000, passes: 6 },
};

/**
 * @returns {Promise<{runs: object[], files: object[]}>} one entry per (file, rep, contestant, pass)
 */
export async function runBrowserBench({ root, corpusDir, files, contestants, reps, passes, extraArgs = [], log = console.log }) {
  const server = await startServer({ root, corpusDir });
  for (const c of contestants) c.url = server.addWorker(`/w/${c.name}.js`, c.source(root), { wasm: !!c.wasm });
  const driverUrl = server.addWorker('/w/direct-driver.js', fs.readFileSync(path.join(root, 'bench/workers/direct-driver.js')), { wasm: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-bench-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: [...ARGS, ...extraArgs] });
  const runs = [];
  const fileInfo = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => window.bench && window.bench.ready);
    for (const file of files) {
      const info = await page.evaluate((id) => window.bench.loadCorpus(id), file);
      if (!info.stringifyOk) throw new Error(`${file}: JSON.stringify(JSON.parse(line)) differs from a line`);
      fileInfo.push(info);
      for (let rep = 0; rep < reps; rep++) {
        // Interleave: every repetition visits the contestants in a rotated order.
        const order = contestants.map((_, k) => contestants[(k + rep) % contestants.length]);
        for (const c of order) {
          for (const pass of passes) {
            if (pass === 'direct' && !c.direct) continue;
            const r = await page.evaluate((o) => window.bench.run(o), { url: c.url, feed: c.feed, driverUrl, ...PASSES[pass] });
            if (r.mismatches.length) {
              throw new Error(`${c.name} on ${file} (${pass}): output does not match the input:\n  ` +
                r.mismatches.slice(0, 5).join('\n  '));
            }
            runs.push({ file, rep, contestant: c.name, pass, ...r });
          }
        }
        log(`  ${file}: repetition ${rep + 1}/${reps} done`);
      }
    }
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join('; ')}`);
  } finally {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
  return { runs, files: fileInfo };
}

export const median = (xs) => {
  const a = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (!a.length) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};
export const quantile = (xs, q) => {
  const a = xs.filter((x) => Number.isFinite(x)).sort((p, r) => p - r);
  if (!a.length) return NaN;
  return a[Math.min(a.length - 1, Math.ceil(q * a.length) - 1)];
};

/** Per (contestant, file): the medians the tables show. */
export function summarize(runs, contestants, files) {
  const out = [];
  for (const f of files) {
    for (const c of contestants) {
      const mine = runs.filter((r) => r.file === f.id && r.contestant === c.name);
      const stream = mine.filter((r) => r.pass === 'stream');
      const p5 = mine.filter((r) => r.pass === 'paced5').flatMap((r) => r.finishMs);
      const p60 = mine.filter((r) => r.pass === 'paced60').flatMap((r) => r.finishMs);
      const e2eMs = median(stream.map((r) => r.e2eMs));
      const direct = mine.filter((r) => r.pass === 'direct' && r.directMs);
      const coldMs = median(direct.map((r) => r.directMs[0]));
      const warmMs = Math.min(...direct.flatMap((r) => r.directMs.slice(1)));
      out.push({
        file: f.id,
        contestant: c.name,
        inputBytes: f.bytes,
        events: f.events,
        e2eMs,
        mbps: f.bytes / 1e6 / (e2eMs / 1000),
        // Each repetition's MB/s by repetition number: contestants run interleaved within a repetition, so the
        // ratio of two contestants in one repetition is a paired measurement (its spread is the run's noise).
        mbpsByRep: Object.fromEntries(stream.map((r) => [r.rep, f.bytes / 1e6 / (r.e2eMs / 1000)])),
        compressed: median(stream.map((r) => r.compressed)),
        finishes: stream[0]?.finishes,
        readyMs: median(mine.map((r) => r.readyMs)),
        finish5: { p50: median(p5), p95: quantile(p5, 0.95), n: p5.length },
        finish60: { p50: median(p60), p95: quantile(p60, 0.95), max: Math.max(...p60), n: p60.length },
        mainMsPer1k: median(stream.map((r) => (r.loopMs / r.events) * 1000)),
        // direct pass: pass 0 on a fresh instance (median over repetitions), later passes (best).
        direct: direct.length ? { coldMbps: f.bytes / 1e6 / (coldMs / 1000), warmMbps: f.bytes / 1e6 / (warmMs / 1000), coldMs, warmMs, n: direct.length } : null,
        header: stream[0]?.header,
        samples: stream.length,
      });
    }
  }
  return out;
}
