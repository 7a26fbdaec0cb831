// Faults a replay survives, in Chromium with real rrweb, the ringflate host script and worker, and the local
// ingest (tests/lib/server.mjs, strict envelope parsing): the ingest down (connection refused) and back, 500s,
// 429 with Retry-After and with X-Sentry-Rate-Limits, the browser offline and back, the worker killed
// mid-session, and leaving the page right after typing. Each case ends with every event the page handed to
// the host delivered exactly once (the inflated recordings compared with the page's own copy).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { watchPage } from './lib/browser.mjs';
import { startFaultsApp, WORKER } from './lib/faults-app.mjs';

const TIMEOUT = 30000;
const RESTARTED = 'ringflate: the worker stopped answering and was replaced';

let app;
let srv;
let browser;

before(async () => {
  app = await startFaultsApp('faults');
  ({ srv, browser } = app);
});

after(() => app?.close());

async function open(params = {}, { waitForFirst = true, page: reuse } = {}) {
  const page = reuse || (await browser.newPage());
  const seen = watchPage(page);
  const q = new URLSearchParams({ dsn: srv.dsn, worker: WORKER, ...params });
  await page.goto(`${srv.origin}/app/faults.html?${q}`);
  const replayId = await page
    .waitForFunction(() => window.__faults.replayId, null, { timeout: TIMEOUT })
    .then((h) => h.jsonValue())
    .catch((e) => {
      throw new Error(`replay did not start: ${e.message}\n${seen.describe()}`);
    });
  if (waitForFirst) await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0');
  return { page, seen, replayId };
}

const segmentsOf = (replayId) => app.segmentsOf(replayId);
const exactlyOnce = (...a) => app.exactlyOnce(...a);

/** Types `text`, one character every `gap` ms; returns when done. */
async function type(page, text, gap = 40) {
  await page.click('#question');
  await page.keyboard.type(text, { delay: gap });
}

/** Ends a case: the page flushes, and everything it recorded arrives exactly once. */
async function finish(page, seen, replayId) {
  await page.evaluate(() => window.__faults.replay.flush());
  const recorded = await page.evaluate(() => window.__faults.recorded);
  await exactlyOnce(replayId, recorded);
  assert.deepEqual(seen.errors, [], 'no page errors');
  await page.close();
  return recorded;
}

test('the ingest down (connection refused) for 30 s, then back: everything recorded meanwhile arrives once', async (t) => {
  const { page, seen, replayId } = await open();
  await srv.down();
  const downAt = Date.now();
  // The user keeps working for 30 s: segments are produced and their requests are refused.
  while (Date.now() - downAt < 30000) {
    await type(page, 'down ', 150);
    await page.waitForTimeout(1500);
  }
  await srv.up();
  const upAt = Date.now();
  await page.waitForTimeout(200);
  const recorded = await finish(page, seen, replayId);
  const late = segmentsOf(replayId).filter((s) => s.receivedAt >= upAt && s.events[0].timestamp < upAt - 10000);
  assert.ok(late.length >= 1, 'segments made while the ingest was down arrived after it came back');
  t.diagnostic(`${recorded.length} events, ${segmentsOf(replayId).length} segments; first delivery ${Math.min(...late.map((s) => s.receivedAt)) - upAt} ms after the ingest came back`);
});

test('500 answers are retried until the ingest accepts: nothing lost, nothing twice', async (t) => {
  const { page, seen, replayId } = await open();
  const from = srv.ingestLog.length;
  srv.answers.push({ status: 500 }, { status: 502 }, { status: 503 }, { status: 500 });
  await type(page, 'the ingest is having a bad day');
  await finish(page, seen, replayId);
  const statuses = srv.ingestLog.slice(from).map((r) => r.status);
  assert.deepEqual(statuses.slice(0, 4), [500, 502, 503, 500]);
  assert.ok(statuses.slice(4).every((s) => s === 200));
  t.diagnostic(`answers: ${statuses.join(' ')}`);
});

/** Sends one rate-limiting answer and checks that no request comes before `ms` after it. */
async function rateLimited(t, answer, ms) {
  const { page, seen, replayId } = await open();
  const from = srv.ingestLog.length;
  srv.answers.push(answer);
  await type(page, 'typing into a rate limit');
  await page.evaluate(() => window.__faults.replay.flush());
  await srv.waitFor(() => srv.ingestLog.length > from, TIMEOUT, 'the limited answer');
  await type(page, ' and more while limited');
  await finish(page, seen, replayId);
  const log = srv.ingestLog.slice(from);
  assert.equal(log[0].status, 429);
  const gap = log[1].time - log[0].time;
  assert.ok(gap >= ms - 100, `the next request came ${gap} ms after the 429 (limit ${ms} ms)`);
  assert.ok(log.slice(1).every((r) => r.status === 200));
  t.diagnostic(`next request ${gap} ms after the 429; ${log.length - 1} requests after it`);
}

test('429 with Retry-After: no request before it ends, then the replay continues', (t) => rateLimited(t, { status: 429, headers: { 'Retry-After': '4' } }, 4000));

test('429 with X-Sentry-Rate-Limits for replays: no request before it ends, then the replay continues', (t) =>
  rateLimited(t, { status: 429, headers: { 'X-Sentry-Rate-Limits': '5:replay:organization:quota_exceeded' } }, 5000));

test('the browser offline, then back: nothing is sent while offline, everything arrives once after', async (t) => {
  const { page, seen, replayId } = await open();
  await browser.context.setOffline(true);
  const offAt = Date.now();
  const from = srv.ingestLog.length;
  await type(page, 'typed while offline');
  await page.evaluate(() => window.__faults.replay.flush());
  await page.waitForTimeout(7000);
  assert.equal(srv.ingestLog.length, from, 'no request reached the ingest while offline');
  const onAt = Date.now();
  await browser.context.setOffline(false);
  await finish(page, seen, replayId);
  const after = segmentsOf(replayId).filter((s) => s.receivedAt >= onAt);
  assert.ok(after.some((s) => s.events.some((e) => e.timestamp >= offAt && e.timestamp < onAt)), 'what was recorded offline arrived after');
  t.diagnostic(`first delivery ${Math.min(...after.map((s) => s.receivedAt)) - onAt} ms after going online`);
});

test('the worker killed mid-session: the host notices, a new worker continues with a checkout and the next segment id', async (t) => {
  const { page, seen, replayId } = await open();
  await type(page, 'before the worker dies');
  await page.waitForTimeout(600);
  const workers = page.workers();
  assert.equal(workers.length, 1);
  const killedAt = await page.evaluate(() => Date.now());
  await workers[0].evaluate('self.close()');
  await type(page, ' typed as it dies', 30);
  await page.waitForFunction((m) => window.__faults.errors.includes(m), RESTARTED, { timeout: 5000 });
  const [noticedAt] = await page.evaluate(() => window.__faults.errorTimes);
  const noticed = noticedAt - killedAt;
  assert.ok(noticed <= 1600, `noticed ${noticed} ms after the worker died (pings every 500 ms, 1,000 ms without an answer)`);
  await page.waitForFunction(() => window.__faults.mode === 'session' && window.__faults.replay.replayId, null, { timeout: TIMEOUT });
  await type(page, ' and after the new one started');
  const recorded = await finish(page, seen, replayId);
  const segs = segmentsOf(replayId);
  const errors = await page.evaluate(() => window.__faults?.errors).catch(() => null);
  assert.ok(errors === null || errors.filter((e) => e === RESTARTED).length <= 1, 'reported once');
  const first = segs.findIndex((s) => s.events.some((e) => JSON.stringify(e).includes('and after the new one')));
  assert.ok(first > 0, 'the replay continued in later segments');
  assert.ok(segs.slice(1).some((s) => s.events.some((e) => e.type === 4 && e.timestamp > killedAt)), 'a checkout after the restart');
  t.diagnostic(`noticed after ${noticed} ms; ${recorded.length} events in ${segs.length} segments`);
});

test('leaving right after typing, with a full snapshot of 200 KB+ compressed already sent: every typed character arrives once', async (t) => {
  const { page, seen, replayId } = await open({ big: '360' });
  const seg0 = segmentsOf(replayId)[0];
  assert.ok(seg0.bytes >= 200 * 1024, `the full snapshot's segment is ${seg0.bytes} bytes compressed`);
  await page.waitForTimeout(300);
  await type(page, 'last words before leaving', 15);
  const recorded = await page.evaluate(() => window.__faults.recorded);
  await page.goto('about:blank');
  await exactlyOnce(replayId, recorded, { extra: true });
  const typed = segmentsOf(replayId).flatMap((s) => s.events).filter((e) => e.type === 3 && e.data.source === 5).map((e) => e.data.text);
  assert.ok(typed.includes('last words before leaving'), 'the last keystroke arrived');
  assert.deepEqual(seen.errors, []);
  await page.close();
  t.diagnostic(`snapshot segment ${seg0.bytes} B; ${segmentsOf(replayId).length} segments`);
});

test('leaving right after typing, the open segment holding a 200 KB+ snapshot (over the keepalive quota): the next load delivers every character once', async (t) => {
  // The default minReplayDurationMs (4,999): segment 0, with the snapshot, stays open for the first 5 s.
  const { page, seen, replayId } = await open({ big: '360', minMs: '4999' }, { waitForFirst: false });
  await page.waitForFunction(() => window.__faults.recorded.some((e) => e.startsWith('{"type":2')), null, { timeout: TIMEOUT });
  await type(page, 'typed with the snapshot still open', 15);
  const recorded = await page.evaluate(() => window.__faults.recorded);
  const leftAt = Date.now();
  await page.goto('about:blank');
  await page.waitForTimeout(300);
  assert.equal(segmentsOf(replayId).length, 0, 'nothing was sent on unload: over the quota');
  // The next page load of the origin, in the same tab.
  const loadAt = Date.now();
  const again = await open({}, { waitForFirst: false, page });
  assert.equal(again.replayId, replayId, 'the replay continues');
  await exactlyOnce(replayId, recorded, { extra: true });
  const segs = segmentsOf(replayId);
  const seg0 = segs.find((s) => s.segmentId === 0);
  assert.ok(seg0.bytes >= 200 * 1024, `segment 0 (the snapshot) is ${seg0.bytes} bytes compressed`);
  assert.ok(seg0.receivedAt > loadAt, `segment 0 came from the next load (${seg0.receivedAt - leftAt} ms after leaving, ${seg0.receivedAt - loadAt} ms after the next load began)`);
  const typed = segs.flatMap((s) => s.events).filter((e) => e.type === 3 && e.data.source === 5).map((e) => e.data.text);
  assert.ok(typed.includes('typed with the snapshot still open'), 'the last keystroke arrived');
  assert.deepEqual(seen.errors, []);
  await page.close();
  t.diagnostic(`segment 0: ${seg0.bytes} B, from the next load; ${segs.length} segments`);
});
