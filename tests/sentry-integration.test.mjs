// ringflate/sentry end to end: the real @sentry/browser with ringflateReplay in a real Chromium page under a
// strict CSP, the ringflate worker owning the replay, and a local ingest that parses every envelope strictly and
// inflates every recording (tests/lib/envelope.mjs). Sentry's own replayIntegration runs in the same test run as
// the control for the replay_event's fields.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { startServer } from './lib/server.mjs';
import { launchBrowser, watchPage } from './lib/browser.mjs';
import { parseEnvelope } from './lib/envelope.mjs';
import { ROOT } from './lib/bundle.mjs';

const WORKER = '/w/ringflate-worker.js';
const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; worker-src 'self'; connect-src 'self'; img-src 'self' data:";
const TIMEOUT = 25000;
// The SDK versions under test, each bundled into its own page: @sentry/browser 11 (the top-level one) and 10
// (an aliased devDependency, with its own @sentry/core, which ringflate/sentry then imports too).
const V10 = path.join(ROOT, 'node_modules/sentry-browser-10');
const SDKS = {
  '/app': { version: '11.12.0', alias: {} },
  '/app10': { version: '10.75.0', alias: { '@sentry/browser': V10, '@sentry/core': path.join(V10, 'node_modules/@sentry/core') } },
};

let srv;
let browser;
let tmp;
// Rate-limit switch for the ingest: while set, replay envelopes are answered 429 with X-Sentry-Rate-Limits.
let limitReplays = false;
const limited = [];

before(async () => {
  const workerFile = path.join(ROOT, 'dist/ringflate-worker.js');
  assert.ok(fs.existsSync(workerFile), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-sentry-int-'));
  const pages = path.join(ROOT, 'tests/pages');
  const bundles = {};
  for (const [base, v] of Object.entries(SDKS)) {
    bundles[base] = path.join(tmp, base.slice(1) + '.js');
    await build({
      entryPoints: [path.join(pages, 'sentry-integration-page.js')],
      bundle: true,
      format: 'iife',
      target: 'es2020',
      outfile: bundles[base],
      logLevel: 'error',
      // Sentry's built-in blob: worker is compiled out; the control uses the ringflate worker file as its workerUrl.
      define: { __SENTRY_EXCLUDE_REPLAY_WORKER__: 'true' },
      // ringflate/sentry takes the engine core from the package's main entry; the SDK is the version under test.
      alias: { ringflate: path.join(ROOT, 'host-js/src/index.js'), ...v.alias },
    });
  }
  srv = await startServer({ sentry: { tunnel: '/tunnel', expectCompressed: true } });
  // While `limitReplays` is set this answers every envelope itself: replay envelopes get 429 with
  // X-Sentry-Rate-Limits for the replay category (kept in `limited`), the others 200 (kept in srv.envelopes).
  srv.use((req, res, next) => {
    if (!limitReplays || req.method !== 'POST' || !req.url.startsWith(`/api/${srv.projectId}/envelope/`)) return next();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let env = null;
      try {
        env = parseEnvelope(body, { expectCompressed: true });
      } catch (e) {
        srv.failures.push({ url: req.url, error: e.message, bytes: body.length });
      }
      const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'X-Sentry-Rate-Limits, Retry-After' };
      if (env && env.replay) {
        limited.push(env);
        res.writeHead(429, { ...cors, 'X-Sentry-Rate-Limits': '60:replay:organization', 'Retry-After': '60' });
      } else {
        if (env) srv.envelopes.push(Object.assign(env, { receivedAt: Date.now(), url: req.url }));
        res.writeHead(200, cors);
      }
      res.end('{}');
    });
  });
  for (const base of Object.keys(SDKS)) {
    srv.file(`${base}/index.html`, path.join(pages, 'sentry-integration.html'), { 'Content-Security-Policy': PAGE_CSP });
    srv.file(`${base}/csp-watch.js`, path.join(pages, 'csp-watch.js'));
    srv.file(`${base}/sentry-integration.js`, bundles[base]);
  }
  srv.body('/api/orders', JSON.stringify({ orders: [1042, 1043] }), { 'Content-Type': 'application/json' });
  srv.file(WORKER, workerFile, { 'Content-Security-Policy': "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" });
  srv.file('/w/nowasm/ringflate-worker.js', workerFile, { 'Content-Security-Policy': "default-src 'none'; script-src 'self'" });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Opens the test page; returns { page, seen, replayId } once the integration reports a replay id. */
async function openPage(params, { waitReplay = true, base = '/app' } = {}) {
  const page = await browser.newPage();
  const seen = watchPage(page);
  const q = new URLSearchParams({ dsn: srv.dsn, worker: WORKER, ...params });
  await page.goto(`${srv.origin}${base}/index.html?${q}`);
  await page.waitForFunction(() => window.__appReady === true, null, { timeout: TIMEOUT });
  if (!waitReplay) return { page, seen };
  const replayId = await page
    .waitForFunction(() => window.__replay()?.getReplayId(), null, { timeout: TIMEOUT })
    .then((h) => h.jsonValue())
    .catch((e) => {
      throw new Error(`no replay started: ${e.message}\n${seen.describe()}`);
    });
  assert.match(replayId, /^[0-9a-f]{32}$/);
  return { page, seen, replayId };
}

const envelopesOf = (replayId) => srv.envelopes.filter((e) => e.replay && e.replay.event.replay_id === replayId);
const segmentsOf = (replayId) => envelopesOf(replayId).map((e) => e.replay);
const eventsOf = (replayId) => segmentsOf(replayId).flatMap((s) => s.events);
const customs = (events, tag) => events.filter((e) => e.type === 5 && e.data && e.data.tag === tag);
const crumbs = (events, category) => customs(events, 'breadcrumb').filter((e) => e.data.payload.category === category);
const spans = (events, op) => customs(events, 'performanceSpan').filter((e) => (op instanceof RegExp ? op.test(e.data.payload.op) : e.data.payload.op === op));
const errorEvents = () =>
  srv.envelopes.flatMap((e) => e.items.filter((i) => i.header.type === 'event').map((i) => ({ header: e.header, event: JSON.parse(i.payload) })));
const transactions = () =>
  srv.envelopes.flatMap((e) => e.items.filter((i) => i.header.type === 'transaction').map((i) => ({ header: e.header, event: JSON.parse(i.payload) })));
const spanItems = () =>
  srv.envelopes.flatMap((e) => e.items.filter((i) => i.header.type === 'span').flatMap((i) => {
    const p = JSON.parse(i.payload);
    return (p.items || [p]).map((span) => ({ header: e.header, span }));
  }));
const attr = (span, k) => {
  const v = span.attributes && span.attributes[k];
  return v && typeof v === 'object' && 'value' in v ? v.value : v;
};
const hasInput = (events, text) => events.some((e) => e.type === 3 && e.data?.source === 5 && typeof e.data.text === 'string' && e.data.text.includes(text));
const isSeconds = (v) => typeof v === 'number' && v > 1e9 && v < 1e10;
const isMs = (v) => typeof v === 'number' && v > 1e12 && v < 1e13;

/** The rrweb id of the element with `id` in a FullSnapshot. */
function nodeIdOf(events, id) {
  const full = events.find((e) => e.type === 2);
  const walk = (n) => {
    if (n.attributes && n.attributes.id === id) return n.id;
    for (const c of n.childNodes || []) {
      const r = walk(c);
      if (r) return r;
    }
    return 0;
  };
  return full ? walk(full.data.node) : 0;
}

/** Field name → type, one level into the objects (sdk, request, contexts…), for comparing two events' shapes. */
function shape(ev) {
  const type = (v) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
  const out = {};
  for (const [k, v] of Object.entries(ev)) {
    out[k] = type(v);
    if (type(v) === 'object') for (const [k2, v2] of Object.entries(v)) out[`${k}.${k2}`] = type(v2);
  }
  return out;
}

function assertClean(seen, page) {
  assert.deepEqual(srv.failures, [], 'every envelope parses strictly and every recording inflates');
  assert.deepEqual(seen.errors, [], 'no page errors');
  return page.evaluate(() => window.__cspViolations).then((v) => assert.deepEqual(v, [], 'no CSP violation on the page'));
}

async function typeInto(page, text) {
  // The page's scripted layout shift counts for CLS only without input in the 500 ms before it: let it happen
  // first (on a loaded machine the first click could otherwise land just before it).
  await page.waitForFunction(() => window.__shifted);
  await page.fill('#question', '');
  await page.click('#question');
  await page.keyboard.type(text, { delay: 15 });
}

for (const [base, sdk] of Object.entries(SDKS)) test(`@sentry/browser ${sdk.version}, session mode: recordings, custom events, error linking and the replay_event beside Sentry's own`, async (t) => {
  const rf = await openPage({ which: 'ringflate', mode: 'session' }, { base });
  const ctl = await openPage({ which: 'sentry', mode: 'session' }, { base });
  assert.equal(await rf.page.evaluate(() => window.Sentry.SDK_VERSION), sdk.version);
  await srv.waitFor(() => segmentsOf(rf.replayId).length >= 1, TIMEOUT, 'ringflate segment 0');
  const { page } = rf;
  await page.evaluate(() => console.log('checkout step', { cart: 3, total: '42.00' }));
  await typeInto(page, 'where is parcel 1042?');
  await page.click('#send', { clickCount: 3 });
  await page.click('#refresh');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'Orders: 2');
  await page.evaluate(() => history.pushState({}, '', location.pathname + location.search + '#review'));
  const failure = `payment declined (${sdk.version})`;
  const spanName = `checkout flow (${sdk.version})`;
  await page.evaluate((m) => window.Sentry.captureException(new Error(m)), failure);
  // A transaction, sent when its span ends: its trace id and name reach the replay (trace_ids, segment_names).
  await page.evaluate((name) => window.Sentry.startSpan({ name, forceTransaction: true }, () => {}), spanName);

  await srv.waitFor(() => errorEvents().find((e) => e.event.exception?.values?.[0]?.value === failure), TIMEOUT, 'the error event');
  const err = errorEvents().find((e) => e.event.exception?.values?.[0]?.value === failure);
  assert.equal(err.event.tags?.replayId, rf.replayId, 'the error is tagged with the replay id');
  assert.equal(err.header.trace?.replay_id, rf.replayId, 'the dynamic sampling context carries replay_id');
  await srv.waitFor(() => segmentsOf(rf.replayId).some((s) => s.event.error_ids.includes(err.event.event_id)), TIMEOUT, 'a segment listing the error id');
  // The click detector judges clicks 7 s after them; the next segment carries ui.multiClick.
  await srv.waitFor(() => crumbs(eventsOf(rf.replayId), 'ui.multiClick').length > 0, TIMEOUT, 'ui.multiClick');
  // SDK 11 streams spans (processSegmentSpan), SDK 10 sends a transaction (afterSendEvent): either way the trace id
  // and the name reach the replay.
  const checkout = () =>
    spanItems().filter((x) => x.span.name === spanName).map((x) => ({ header: x.header, traceId: x.span.trace_id, span: x.span }))[0] ||
    transactions().filter((x) => x.event.transaction === spanName).map((x) => ({ header: x.header, traceId: x.event.contexts.trace.trace_id }))[0];
  await srv.waitFor(checkout, TIMEOUT, 'the checkout span or transaction');
  const sp = checkout();
  assert.equal(sp.header.trace?.replay_id, rf.replayId, "its envelope's DSC names the replay");
  // A streamed span carries the replay id as an attribute (processSpan).
  if (sp.span) assert.equal(attr(sp.span, 'sentry.replay_id'), rf.replayId, 'the streamed span names the replay');
  assert.equal(!!sp.span, sdk.version.startsWith('11.'), 'SDK 11 streams spans, SDK 10 sends a transaction');
  await srv.waitFor(() => segmentsOf(rf.replayId).some((s) => s.event.trace_ids.includes(sp.traceId)), TIMEOUT, 'a segment listing the trace id');
  assert.ok(segmentsOf(rf.replayId).some((s) => s.event.segment_names.includes(spanName)), 'segment_names has the name');

  await srv.waitFor(() => segmentsOf(ctl.replayId).length >= 1, TIMEOUT, "Sentry's segment 0");
  await assertClean(rf.seen, page);
  await ctl.page.close();
  await page.close();

  const segs = segmentsOf(rf.replayId);
  assert.deepEqual(segs.map((s) => s.segmentId), segs.map((_, i) => i), 'segment ids consecutive from 0');
  for (const s of segs) {
    assert.equal(s.compressed, true, 'compressed by the worker');
    assert.equal(s.replayType, 'session');
  }
  const events = eventsOf(rf.replayId);
  assert.equal(segs[0].events[0].type, 4, 'segment 0 starts with Meta');
  assert.ok(hasInput(events, 'where is parcel 1042?'), 'the typed text is recorded');
  for (const env of envelopesOf(rf.replayId)) {
    assert.ok(env.url.startsWith(`/api/${srv.projectId}/envelope/`), 'sent by the client to the DSN endpoint');
    assert.equal(env.header.event_id, env.replay.event.replay_id);
    assert.deepEqual(env.header.sdk, { name: 'sentry.javascript.browser', version: env.replay.event.sdk.version });
  }

  // The replay_event: the fields Sentry's own replayIntegration sends, with the same types.
  const mine = segs[0].event;
  const theirs = segmentsOf(ctl.replayId)[0].event;
  t.diagnostic(`replay_event fields: ${Object.keys(mine).sort().join(', ')}`);
  // `contexts.trace` is filled only while a span is active when the segment is prepared (the pageload span, in
  // the first second or so), for Sentry's replay as for this one: a matter of when segment 0 is sent, so it is
  // compared only when both have it.
  const traceless = (ev) => ({ ...shape(ev), 'contexts.trace': undefined });
  assert.deepEqual('contexts.trace' in shape(mine) ? shape(mine) : traceless(mine), 'contexts.trace' in shape(mine) ? shape(theirs) : traceless(theirs), 'same fields and types as Sentry\'s replay_event');
  for (const ev of [mine, theirs]) {
    assert.ok(isSeconds(ev.timestamp) && isSeconds(ev.replay_start_timestamp), 'timestamps in seconds');
  }
  assert.equal(mine.environment, 'test');
  assert.equal(mine.release, 'acme-orders@1.0.0');
  assert.equal(mine.platform, 'javascript');
  assert.equal(mine.request.headers['User-Agent'], theirs.request.headers['User-Agent']);
  assert.ok(mine.urls[0].startsWith(`${srv.origin}${base}/index.html`), `urls start with the page (${mine.urls})`);
  assert.ok(mine.sdk.integrations.includes('RingflateReplay') && !mine.sdk.integrations.includes('Replay'));
  assert.deepEqual(mine.sdk.settings, theirs.sdk.settings);

  // Custom events in Sentry's shapes and units.
  const options = customs(segs[0].events, 'options');
  assert.equal(options.length >= 1, true, 'segment 0 has the options event');
  assert.deepEqual(
    { s: options[0].data.payload.sessionSampleRate, e: options[0].data.payload.errorSampleRate, t: options[0].data.payload.maskAllText, i: options[0].data.payload.maskAllInputs, m: options[0].data.payload.blockAllMedia },
    { s: 1, e: 0, t: false, i: false, m: true },
  );
  for (const e of customs(events, 'breadcrumb')) {
    assert.ok(isMs(e.timestamp) && isSeconds(e.data.payload.timestamp), `breadcrumb ${e.data.payload.category}: event in ms, payload in s`);
    assert.ok(Math.abs(e.timestamp - e.data.payload.timestamp * 1000) < 2);
  }
  for (const e of customs(events, 'performanceSpan')) {
    const p = e.data.payload;
    assert.ok(isMs(e.timestamp) && isSeconds(p.startTimestamp) && isSeconds(p.endTimestamp), `span ${p.op}: event in ms, start/end in s`);
  }
  const consoleCrumb = crumbs(events, 'console').find((e) => e.data.payload.message?.includes('checkout step'));
  assert.ok(consoleCrumb, 'console breadcrumb');
  assert.deepEqual(consoleCrumb.data.payload.data.arguments, ['checkout step', { cart: 3, total: '42.00' }], 'with its arguments');
  const nav = crumbs(events, 'navigation').at(-1);
  assert.ok(nav.data.payload.data.from.endsWith('mode=session') && nav.data.payload.data.to.endsWith('#review'), 'navigation from / to');
  assert.ok(spans(events, 'navigation.push').some((e) => e.data.payload.description.endsWith('#review')), 'navigation.push span');
  const sendId = nodeIdOf(segs[0].events, 'send');
  assert.ok(sendId > 0);
  const click = crumbs(events, 'ui.click').find((e) => e.data.payload.data.nodeId === sendId);
  assert.ok(click, "ui.click names the button's rrweb id");
  assert.equal(click.data.payload.data.node.tagName, 'button');
  assert.equal(click.data.payload.data.node.textContent, 'Send question');
  assert.match(click.data.payload.message, /button#send/);
  const multi = crumbs(events, 'ui.multiClick')[0].data.payload;
  assert.equal(multi.data.nodeId, sendId);
  assert.ok(multi.data.clickCount >= 3, `clickCount ${multi.data.clickCount}`);
  assert.ok(crumbs(events, 'ui.input').some((e) => e.data.payload.data.nodeId === nodeIdOf(segs[0].events, 'question')), 'ui.input names the field');
  assert.equal(crumbs(events, 'fetch').length + crumbs(events, 'xhr').length, 0, 'fetch / xhr breadcrumbs are not copied');
  const fetchSpan = spans(events, 'resource.fetch').find((e) => e.data.payload.description.includes('/api/orders'));
  assert.ok(fetchSpan, 'resource.fetch span');
  assert.equal(fetchSpan.data.payload.data.method, 'GET');
  assert.equal(fetchSpan.data.payload.data.statusCode, 200);
  assert.ok(!spans(events, /^resource\./).some((e) => e.data.payload.description.includes('/envelope/')), "the SDK's own requests are left out");
  assert.ok(spans(events, 'resource.script').some((e) => e.data.payload.description.endsWith('/sentry-integration.js')), 'resource.script span');
  assert.ok(spans(events, 'navigation.navigate').length === 1, 'navigation.navigate span');
  assert.ok(spans(events, 'paint').some((e) => e.data.payload.description === 'first-contentful-paint'), 'paint span');
  assert.ok(spans(events, 'memory').length >= 1, 'memory span');
  const vitals = spans(events, 'web-vital').map((e) => e.data.payload);
  for (const name of ['largest-contentful-paint', 'cumulative-layout-shift', 'interaction-to-next-paint']) {
    const v = vitals.find((x) => x.description === name);
    assert.ok(v, `web-vital ${name}`);
    assert.ok(typeof v.data.value === 'number' && ['good', 'needs-improvement', 'poor'].includes(v.data.rating), `${name} value and rating`);
  }
  // INP is reported each time the slowest interaction so far grows (on a loaded machine an earlier keystroke may
  // pass the 40 ms threshold first), so the page's INP is the largest value reported.
  const inp = Math.max(...vitals.filter((x) => x.description === 'interaction-to-next-paint').map((x) => x.data.value));
  assert.ok(inp >= 80, `INP covers the 80 ms handler (largest reported: ${inp})`);
  t.diagnostic(`${segs.length} segments, ${events.length} events, ${customs(events, 'breadcrumb').length} breadcrumbs, ${customs(events, 'performanceSpan').length} spans`);
});

test('buffer mode: nothing is sent until an exception is sampled; then segment 0 holds the history and links the error', async () => {
  const { page, seen, replayId } = await openPage({ which: 'ringflate', mode: 'buffer' });
  await typeInto(page, 'typed before the error');
  await page.click('#send');
  await page.waitForTimeout(800);
  // A message is not an exception: it takes no draw and leaves the buffer buffering.
  await page.evaluate(() => window.Sentry.captureMessage('just a note'));
  await srv.waitFor(() => errorEvents().find((e) => e.event.message === 'just a note'), TIMEOUT, 'the message event');
  await page.waitForTimeout(1000);
  assert.equal(segmentsOf(replayId).length, 0, 'buffer mode sends nothing before a sampled error');
  const note = errorEvents().find((e) => e.event.message === 'just a note');
  assert.equal(note.event.tags?.replayId, undefined, 'an unsampled event is not tagged');
  assert.equal(note.header.trace?.replay_id, undefined, 'buffer mode: the DSC has no replay_id');

  // A sampled exception that is never sent (beforeSend drops it) sends no buffer: as Sentry's, the buffer goes
  // out only once the error's own send succeeded.
  await page.evaluate(() => window.Sentry.captureException(new Error('dropped before sending')));
  await page.waitForTimeout(1500);
  assert.equal(segmentsOf(replayId).length, 0, 'an exception that was not sent leaves the buffer buffering');
  assert.equal(await page.evaluate(() => window.__replay().getReplayId() !== undefined), true, 'still buffering');

  await page.evaluate(() => window.Sentry.captureException(new Error('checkout failed: payment declined')));
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0 after the error');
  await srv.waitFor(() => errorEvents().find((e) => e.event.exception?.values?.[0]?.value === 'checkout failed: payment declined'), TIMEOUT, 'the error');
  const err = errorEvents().find((e) => e.event.exception?.values?.[0]?.value === 'checkout failed: payment declined');
  assert.equal(err.event.tags?.replayId, replayId, 'the sampled error is tagged with the replay id');
  const at = (f) => srv.envelopes.findIndex(f);
  assert.ok(
    at((e) => e.items.some((i) => i.header.type === 'event' && JSON.parse(i.payload).event_id === err.event.event_id)) <
      at((e) => e.replay && e.replay.event.replay_id === replayId),
    'the buffer is sent after the error was',
  );
  const seg0 = segmentsOf(replayId)[0];
  assert.equal(seg0.segmentId, 0);
  assert.equal(seg0.replayType, 'buffer');
  assert.equal(seg0.events[0].type, 4, 'segment 0 starts at a checkout');
  assert.ok(hasInput(seg0.events, 'typed before the error'), 'segment 0 holds what was typed before the error');
  assert.ok(seg0.event.error_ids.includes(err.event.event_id), 'segment 0 lists the error');
  assert.ok(customs(seg0.events, 'options').some((e) => e.data.payload.errorSampleRate === 1), 'segment 0 has the options event');
  assert.ok(crumbs(seg0.events, 'ui.click').length >= 1, 'segment 0 has the click breadcrumb');

  // Recording goes on as a session; replay_type stays "buffer".
  await typeInto(page, 'after the error');
  await srv.waitFor(() => hasInput(eventsOf(replayId), 'after the error'), TIMEOUT, 'a later segment');
  const segs = segmentsOf(replayId);
  assert.deepEqual(segs.map((s) => s.segmentId), segs.map((_, i) => i));
  for (const s of segs) assert.equal(s.replayType, 'buffer');
  await page.evaluate(() => window.Sentry.captureException(new Error('second failure')));
  await srv.waitFor(() => errorEvents().find((e) => e.event.exception?.values?.[0]?.value === 'second failure'), TIMEOUT, 'the second error');
  const second = errorEvents().find((e) => e.event.exception?.values?.[0]?.value === 'second failure');
  assert.equal(second.event.tags?.replayId, replayId, 'after the buffer was sent, errors are tagged');
  assert.equal(second.header.trace?.replay_id, replayId, 'and the DSC carries replay_id');
  await assertClean(seen, page);
  await page.close();
});

test('tunnel: the client sends the replay envelopes to the tunnel, with the DSN in the envelope header', async () => {
  const { page, seen, replayId } = await openPage({ which: 'ringflate', mode: 'session', tunnel: '/tunnel' });
  await srv.waitFor(() => envelopesOf(replayId).length >= 1, TIMEOUT, 'segment 0 through the tunnel');
  // Accepted (2xx) through the client's transport: the worker is told, so it can delete its copy.
  // (Segments of earlier pages of this origin that the worker kept may be handed over and sent too.)
  const sent = await page
    .waitForFunction((id) => window.__sent.find((m) => m.replayId === id), replayId, { timeout: TIMEOUT })
    .then((h) => h.jsonValue());
  assert.deepEqual(sent, { rf: 1, op: 'sent', replayId, segmentId: 0 });
  await assertClean(seen, page);
  await page.close();
  for (const e of envelopesOf(replayId)) {
    assert.ok(e.url.startsWith('/tunnel'), `sent to the tunnel, not ${e.url}`);
    assert.equal(e.header.dsn, srv.dsn);
    assert.equal(e.replay.compressed, true);
  }
});

test('rate limited (429, X-Sentry-Rate-Limits: replay): the replay stops, as Sentry\'s does, and errors still go out', async () => {
  const { page, seen, replayId } = await openPage({ which: 'ringflate', mode: 'session' });
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0');
  limitReplays = true;
  try {
    await typeInto(page, 'typed while rate limited');
    const t0 = Date.now();
    while (!limited.some((e) => e.replay.event.replay_id === replayId) && Date.now() - t0 < TIMEOUT) await page.waitForTimeout(200);
    assert.equal(limited.filter((e) => e.replay.event.replay_id === replayId).length, 1, 'one segment was answered 429');
    await page.waitForFunction(() => window.__replay().getReplayId() === undefined, null, { timeout: 5000 });
    await typeInto(page, 'typed after the limit');
    await page.click('#send');
    await page.waitForTimeout(7000);
    assert.equal(limited.filter((e) => e.replay.event.replay_id === replayId).length, 1, 'no replay envelope is sent after the limit');
    await page.evaluate(() => window.Sentry.captureException(new Error('after the rate limit')));
    const t1 = Date.now();
    const find = () => errorEvents().find((e) => e.event.exception?.values?.[0]?.value === 'after the rate limit');
    while (!find() && Date.now() - t1 < TIMEOUT) await page.waitForTimeout(200);
    assert.ok(find(), 'errors are still sent');
    assert.equal(find().event.tags?.replayId, undefined, 'and no longer tagged with the stopped replay');
    const logs = await page.evaluate(() => window.__logs.map((l) => l.text));
    assert.ok(logs.some((l) => l.includes('ringflate: replay stopped: rate limited by Sentry')), 'the SDK logger says why');
  } finally {
    limitReplays = false;
  }
  assert.equal(segmentsOf(replayId).length, 1, 'only segment 0 reached the ingest');
  await assertClean(seen, page);
  await page.close();
});

test('leaving the page delivers the open segment through the client without waiting for the worker', async () => {
  const { page, seen, replayId } = await openPage({ which: 'ringflate', mode: 'session' });
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0');
  await typeInto(page, 'last words before leaving');
  // The worker streams the open segment back at most once a second; then the user leaves. The page's
  // visibilitychange is held back, so the worker is never told the page is hidden: only pagehide delivers.
  await page.waitForTimeout(1500);
  await page.evaluate(() => document.addEventListener('visibilitychange', (e) => e.stopImmediatePropagation(), true));
  await assertClean(seen, page);
  await page.goto('about:blank');
  await srv.waitFor(() => hasInput(eventsOf(replayId), 'last words before leaving'), TIMEOUT, 'the open segment, sent on pagehide');
  const segs = segmentsOf(replayId);
  const ids = segs.map((s) => s.segmentId);
  assert.deepEqual(ids, ids.map((_, i) => i), `segment ids consecutive, none twice (${ids})`);
  const last = envelopesOf(replayId).at(-1);
  assert.ok(last.url.startsWith(`/api/${srv.projectId}/envelope/`), 'sent by the client');
  assert.equal(last.replay.event.environment, 'test', 'with the SDK-filled replay_event');
  assert.ok(last.replay.event.sdk.integrations.includes('RingflateReplay'));
  await page.close();
});

/** Opens the page with a misconfiguration; returns the ringflate lines the SDK logger printed and checks the page still works. */
async function misconfigured(params, expect) {
  const { page, seen } = await openPage({ which: 'ringflate', mode: 'session', ...params }, { waitReplay: false });
  const t0 = Date.now();
  let lines = [];
  while (Date.now() - t0 < 8000) {
    lines = await page.evaluate(() => window.__logs.filter((l) => l.text.includes('ringflate:')).map((l) => `${l.level}: ${l.text}`));
    if (lines.some((l) => expect.test(l))) break;
    await page.waitForTimeout(100);
  }
  // The app keeps working: its own handlers run and the SDK still reports errors.
  await typeInto(page, 'still works');
  await page.click('#send');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'Question sent: still works');
  assert.deepEqual(seen.errors, [], 'nothing thrown into the page');
  const replayId = await page.evaluate(() => window.__replay()?.getReplayId());
  await page.close();
  return { lines, replayId };
}

test('misconfiguration: each gets one clear error on the SDK logger, and the page keeps working', async (t) => {
  const cases = [
    ['no workerUrl', { noWorker: '1' }, /^error: Sentry Logger \[error\]: ringflate: ringflateReplay needs workerUrl/],
    ['a workerUrl that 404s', { worker: '/w/missing/ringflate-worker.js' }, /^error: Sentry Logger \[error\]: ringflate: the worker file did not load from \/w\/missing\/ringflate-worker\.js \(check workerUrl and the page's worker-src\).*\(no replay is recorded\)$/],
    ["a worker CSP without 'wasm-unsafe-eval'", { worker: '/w/nowasm/ringflate-worker.js' }, /^error: Sentry Logger \[error\]: ringflate: .*'wasm-unsafe-eval'.*\(no replay is recorded\)$/],
    ["Sentry's replayIntegration as well", { which: 'both' }, /^error: Sentry Logger \[error\]: ringflate: Sentry's replayIntegration is installed too/],
    ['Sentry.init without a dsn', { noDsn: '1' }, /^error: Sentry Logger \[error\]: ringflate: Sentry.init has no dsn/],
  ];
  for (const [what, params, expect] of cases) {
    const { lines, replayId } = await misconfigured(params, expect);
    t.diagnostic(`${what}: ${lines.join(' | ')}`);
    assert.equal(lines.filter((l) => expect.test(l)).length, 1, `${what}: one clear logger error (got ${JSON.stringify(lines)})`);
    assert.equal(replayId, undefined, `${what}: ringflateReplay records nothing`);
  }
  // Two ringflateReplay() in one init: the SDK keeps one integration per name, so one records and nothing is said.
  const twice = await misconfigured({ twice: '1' }, /never/);
  assert.deepEqual(twice.lines.filter((l) => l.startsWith('error')), []);
  assert.match(twice.replayId, /^[0-9a-f]{32}$/);
  assert.deepEqual(srv.failures, []);
});

test('a reload continues the same replay with the next segment id', async () => {
  const { page, seen, replayId } = await openPage({ which: 'ringflate', mode: 'session' });
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0 before the reload');
  // Accepted and acknowledged to the worker: otherwise the worker would keep it and hand it over again after the reload.
  await page.waitForFunction((id) => window.__sent.some((m) => m.replayId === id && m.segmentId === 0), replayId, { timeout: TIMEOUT });
  await page.reload();
  await page.waitForFunction(() => window.__appReady === true, null, { timeout: TIMEOUT });
  const again = await page.waitForFunction(() => window.__replay()?.getReplayId(), null, { timeout: TIMEOUT }).then((h) => h.jsonValue());
  assert.equal(again, replayId, 'the reloaded page continues the replay');
  await typeInto(page, 'after the reload');
  await srv.waitFor(() => hasInput(eventsOf(replayId), 'after the reload'), TIMEOUT, 'a segment after the reload');
  const segs = segmentsOf(replayId);
  assert.deepEqual(segs.map((s) => s.segmentId), segs.map((_, i) => i), 'segment ids continue without gap or repeat');
  assert.equal(customs(segs.slice(1).flatMap((s) => s.events), 'options').length, 0, 'the options event is only in segment 0');
  await assertClean(seen, page);
  await page.close();
});

test('forget(), e.g. on logout: recording stops and the worker deletes what it keeps; an idle page sends no segment of its own', async () => {
  const { page, seen, replayId } = await openPage({ which: 'ringflate', mode: 'session' });
  await srv.waitFor(() => segmentsOf(replayId).length >= 1, TIMEOUT, 'segment 0');
  await typeInto(page, 'typed before logging out');
  await srv.waitFor(() => hasInput(eventsOf(replayId), 'typed before logging out'), TIMEOUT, 'the segment with the input');
  // Idle for longer than a segment's debounce: nothing was recorded, so nothing is sent (no segment made only
  // of the SDK's memory span).
  const idleFrom = segmentsOf(replayId).length;
  await page.waitForTimeout(7000);
  assert.equal(segmentsOf(replayId).length, idleFrom, 'no segment while the page is idle');
  // What the worker keeps: the open segment streamed back as the input arrived (IndexedDB).
  await page.evaluate(() => {
    window.__keys = () =>
      new Promise((ok) => {
        const r = indexedDB.open('ringflate', 1);
        r.onsuccess = () => {
          const q = r.result.transaction('r').objectStore('r').getAllKeys();
          q.onsuccess = () => (r.result.close(), ok(q.result));
        };
      });
  });
  await typeInto(page, 'typed while logging out');
  await page.waitForFunction(() => window.__keys().then((k) => k.length > 0), null, { timeout: TIMEOUT });
  await page.evaluate(() => window.__replay().forget());
  await page.waitForFunction(() => window.__keys().then((k) => k.length === 0), null, { timeout: TIMEOUT });
  assert.equal(await page.evaluate(() => window.__replay().getReplayId()), undefined, 'no replay after forget()');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('ringflateSession') || ''), '', 'the stored session value removed');
  const after = segmentsOf(replayId).length;
  await typeInto(page, 'typed after logging out');
  await page.waitForTimeout(6500);
  assert.ok(!hasInput(segmentsOf(replayId).slice(after).flatMap((s) => s.events), 'typed after logging out'), 'nothing recorded after forget()');
  await assertClean(seen, page);
  await page.close();
});

test('maxReplayDuration ends the replay after that long; the next user input starts a new one', async () => {
  const { page, seen, replayId } = await openPage({ which: 'ringflate', mode: 'session', maxReplayDuration: '4000' });
  await typeInto(page, 'in the first replay');
  await srv.waitFor(() => hasInput(eventsOf(replayId), 'in the first replay'), TIMEOUT, 'the first replay records');
  await page.waitForFunction(() => window.__replay().getReplayId() === undefined, null, { timeout: TIMEOUT });
  await typeInto(page, 'in the second replay');
  const next = await page.waitForFunction(() => window.__replay().getReplayId(), null, { timeout: TIMEOUT }).then((h) => h.jsonValue());
  assert.notEqual(next, replayId, 'a new replay');
  await typeInto(page, 'typed into the second replay');
  await srv.waitFor(() => hasInput(eventsOf(next), 'typed into the second replay'), TIMEOUT, 'the second replay records');
  const first = segmentsOf(replayId);
  const span = Math.max(...first.map((s) => s.event.timestamp)) - first[0].event.replay_start_timestamp;
  assert.ok(span <= 4 + 1, `the first replay covers ${span} s, not more than maxReplayDuration`);
  assert.ok(!hasInput(eventsOf(replayId), 'typed into the second replay'));
  await assertClean(seen, page);
  await page.close();
});
