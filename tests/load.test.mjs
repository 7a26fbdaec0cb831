// Load through startReplay in Chromium (real rrweb, host script, worker, local ingest): 100,000 events in one
// burst, and a paced 1,000 events/s for RINGFLATE_LOAD_SECONDS (default 60). Each event arrives exactly once;
// the longest main-thread task (PerformanceObserver longtask) is reported; the worker's backlog — batches the
// host posted that no partial or segment has covered yet, as the page sees the messages — stays bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { watchPage } from './lib/browser.mjs';
import { startFaultsApp, WORKER } from './lib/faults-app.mjs';

const SECONDS = Number(process.env.RINGFLATE_LOAD_SECONDS || 60);
let app;
let srv;
let browser;

before(async () => {
  app = await startFaultsApp('load');
  ({ srv, browser } = app);
});

after(() => app?.close());

async function open() {
  const page = await browser.newPage();
  const seen = watchPage(page);
  const q = new URLSearchParams({ dsn: srv.dsn, worker: WORKER });
  await page.goto(`${srv.origin}/app/faults.html?${q}`);
  const replayId = await page.waitForFunction(() => window.__faults.replayId, null, { timeout: 30000 }).then((h) => h.jsonValue());
  return { page, seen, replayId };
}

const textsOf = (replayId) =>
  srv.envelopes.filter((e) => e.replay && e.replay.event.replay_id === replayId).flatMap((e) => e.replay.events.map((ev) => JSON.stringify(ev)));

/** Flushes, waits for every recorded event, and checks each arrived exactly once; returns the page's figures. */
async function allOnce(page, seen, replayId, ms) {
  await page.evaluate(() => window.__faults.replay.flush());
  const recorded = await page.evaluate(() => window.__faults.recorded);
  const want = new Map();
  for (const t of recorded) want.set(t, (want.get(t) || 0) + 1);
  await srv.waitFor(() => {
    const got = new Set(textsOf(replayId));
    for (const t of want.keys()) if (!got.has(t)) return false;
    return true;
  }, ms, `all ${recorded.length} events`);
  const got = new Map();
  for (const t of textsOf(replayId)) got.set(t, (got.get(t) || 0) + 1);
  const wrong = [...got].filter(([t, n]) => want.get(t) !== n);
  assert.deepEqual(wrong.map(([t, n]) => `${n}× ${t.slice(0, 80)}`), [], 'every event exactly once, nothing else');
  assert.equal([...got.values()].reduce((a, b) => a + b, 0), recorded.length);
  assert.deepEqual(srv.failures, []);
  assert.deepEqual(seen.errors, []);
  const figures = await page.evaluate(() => {
    const f = window.__faults;
    return { longest: f.longTasks ? Math.max(0, ...f.longTasks) : null, longTasks: f.longTasks, maxBehind: f.maxBehind, maxBehindBytes: f.maxBehindBytes, posted: f.posted, errors: f.errors };
  });
  assert.deepEqual(figures.errors, [], 'no engine errors');
  assert.notEqual(figures.longest, null, 'long tasks are observed in this browser');
  return { ...figures, events: recorded.length };
}

test('100,000 events in one burst arrive exactly once', async (t) => {
  const { page, seen, replayId } = await open();
  await page.waitForTimeout(500);
  // In a task of the page's own (a timer), as a recorder's burst would be, so a long task is observed as such.
  const loopMs = await page.evaluate(() => new Promise((resolve) => setTimeout(() => resolve(window.__faults.burst(100000, 'burst')), 0)));
  const f = await allOnce(page, seen, replayId, 120000);
  assert.ok(f.events >= 100000);
  // The burst goes out as one batch (one JSON string), so the worker has at most a few batches to catch up on.
  assert.ok(f.maxBehind <= 4, `worker backlog ${f.maxBehind} batches`);
  t.diagnostic(`${f.events} events; the page's own loop of 100,000 addEvents calls took ${Math.round(loopMs)} ms; longest main-thread task ${f.longest ? f.longest + ' ms' : 'under 50 ms (no long task)'} (long tasks ≥ 50 ms: ${f.longTasks.join(', ') || 'none'}); worker backlog at most ${f.maxBehind} batches / ${f.maxBehindBytes} chars`);
  await page.close();
});

test(`1,000 events/s for ${SECONDS} s arrive exactly once, the worker keeping up`, async (t) => {
  const { page, seen, replayId } = await open();
  await page.evaluate((seconds) => {
    const f = window.__faults;
    f.pacedDone = false;
    let sent = 0;
    const t0 = performance.now();
    // 10 events every 10 ms; the count follows the clock, so a late timer catches up.
    const tick = () => {
      const due = Math.min(seconds * 1000, Math.floor(performance.now() - t0));
      if (due > sent) f.burst(due - sent, 'paced');
      sent = due;
      if (sent < seconds * 1000) setTimeout(tick, 10);
      else f.pacedDone = true;
    };
    tick();
  }, SECONDS);
  await page.waitForFunction(() => window.__faults.pacedDone, null, { timeout: (SECONDS + 30) * 1000, polling: 1000 });
  const f = await allOnce(page, seen, replayId, 120000);
  assert.ok(f.events >= SECONDS * 1000);
  // One batch per 250 ms: a backlog of 8 batches is two seconds behind.
  assert.ok(f.maxBehind <= 8, `worker backlog ${f.maxBehind} batches`);
  assert.ok(f.longest < 500, `longest main-thread task ${f.longest} ms`);
  t.diagnostic(`${f.events} events in ${SECONDS} s; longest main-thread task ${f.longest ? f.longest + ' ms' : 'under 50 ms (no long task)'} (${f.longTasks.length} long tasks ≥ 50 ms); worker backlog at most ${f.maxBehind} batches / ${f.maxBehindBytes} chars; ${f.posted} batches posted`);
  await page.close();
});
