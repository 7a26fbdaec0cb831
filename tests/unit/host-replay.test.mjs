// startReplay (host-js/src/index.js) with a fake page scope: fake worker, clock, fetch, sendBeacon, document and
// window listeners, and a fake rrweb. What it sends where and in which order, its retries (5xx, network,
// offline) and rate limits (Retry-After, X-Sentry-Rate-Limits), the keepalive quota, pagehide delivery, and how
// it follows the worker's checkout / pause / stopped.
import zlib from 'node:zlib';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startReplay } from '../../host-js/src/index.js';
import { VERSION } from '../../host-js/src/core.js';
import { fakeScope, FakeStorage, settle, settles, bytes } from './fakes.mjs';

const RID = 'f'.repeat(32);
const URL1 = 'https://ingest.test/api/1/envelope/?sentry_version=7&sentry_key=k';

function fakeRrweb() {
  const r = { calls: [], stops: 0, snapshots: [] };
  r.record = (opts) => {
    r.calls.push(opts);
    return () => r.stops++;
  };
  r.record.takeFullSnapshot = (isCheckout) => r.snapshots.push(isCheckout);
  return r;
}

function replay(options = {}, scopeOptions = {}) {
  const scope = fakeScope(scopeOptions);
  const rrweb = fakeRrweb();
  const got = { segments: [], errors: [] };
  const r = startReplay(
    {
      workerUrl: '/w.js',
      dsn: 'https://k@ingest.test/1',
      sessionSampleRate: 1,
      rrweb,
      onSegment: (s) => got.segments.push(s),
      onError: (e) => got.errors.push(e),
      ...options,
    },
    scope,
  );
  return { r, scope, w: scope.worker, rrweb, got };
}

function startedReplay(mode = 'session', options, scopeOptions) {
  const t = replay(options, scopeOptions);
  t.w.init({ version: VERSION });
  t.w.emit({ rf: 1, op: 'started', replayId: RID, mode, draws: [true], segmentId: 0 });
  t.w.posted.length = 0;
  return t;
}

const segment = (segmentId, extra = {}) => ({
  rf: 1, op: 'segment', replayId: RID, segmentId, replayType: 'session', start: 1, end: 2, eventCount: 1,
  kind: 'envelope', url: URL1, body: bytes(0x78, 0x9c, segmentId), ...extra,
});

test('startReplay without workerUrl or a destination throws a clear error', () => {
  const scope = fakeScope();
  assert.throws(() => startReplay({ dsn: 'https://k@h/1' }, scope), /needs workerUrl and one of dsn, tunnel, endpoint or transport/);
  assert.throws(() => startReplay({ workerUrl: '/w.js' }, scope), /needs workerUrl/);
  assert.equal(scope.workers.length, 0);
});

test('start: the options become the worker config, unset ones left out; sdk carries the package version', () => {
  const { w } = replay({ sessionSampleRate: 0.25, errorSampleRate: 1, bufferMs: 30000, tunnel: '/tunnel', release: 'r1' });
  w.init({ version: VERSION });
  assert.deepEqual(w.posted, [
    {
      rf: 1, op: 'start', session: null, url: 'https://app.test/page',
      config: { sessionSampleRate: 0.25, errorSampleRate: 1, bufferMs: 30000, dsn: 'https://k@ingest.test/1', tunnel: '/tunnel', sdk: { name: 'ringflate.host', version: VERSION }, release: 'r1' },
    },
  ]);
});

test('rrweb starts when the worker says the replay records, its events reach the worker in batches', () => {
  const { w, scope, rrweb } = startedReplay('session', { record: { maskAllInputs: true } });
  assert.equal(rrweb.calls.length, 1);
  assert.equal(rrweb.calls[0].maskAllInputs, true);
  rrweb.calls[0].emit({ type: 4, timestamp: 1 });
  rrweb.calls[0].emit({ type: 2, timestamp: 2 });
  scope.advance(250);
  assert.deepEqual(w.posted, [{ rf: 1, op: 'events', json: '[{"type":4,"timestamp":1},{"type":2,"timestamp":2}]', seq: 1 }]);

  const off = startedReplay('off');
  assert.equal(off.rrweb.calls.length, 0, 'off: rrweb is not started');
  const none = startedReplay('session', { record: false });
  assert.equal(none.rrweb.calls.length, 0, 'record: false');
});

const sentOps = (w) => w.posted.filter((m) => m.op === 'sent').map((m) => m.segmentId);

/** Advances the clock in 250 ms steps until a new fetch starts; returns how long that took. */
async function untilFetch(scope, limit = 120000) {
  const before = scope.fetches.length;
  let waited = 0;
  while (scope.fetches.length === before && waited < limit) {
    scope.advance(250);
    waited += 250;
    await settle();
  }
  return waited;
}

test('segments are POSTed one at a time, oldest first; each accepted one is reported sent to the worker', async () => {
  const { scope, w, got } = startedReplay();
  w.emit(segment(0));
  w.emit(segment(1));
  assert.equal(scope.fetches.length, 1, 'one request at a time');
  assert.equal(scope.fetches[0].url, URL1);
  assert.deepEqual(scope.fetches[0].init, { method: 'POST', body: bytes(0x78, 0x9c, 0), keepalive: true });
  assert.deepEqual(got.segments.map((s) => s.segmentId), [0, 1], 'onSegment for each');
  scope.fetches[0].respond({ ok: true, status: 204 });
  await settle();
  assert.deepEqual(sentOps(w), [0]);
  assert.equal(scope.fetches[1].init.body[2], 1, 'then the next');
  scope.fetches[1].respond({ ok: true });
  await settle();
  assert.deepEqual(sentOps(w), [0, 1]);
  assert.deepEqual(w.posted.filter((m) => m.op === 'sent')[0], { rf: 1, op: 'sent', replayId: RID, segmentId: 0 });
  assert.equal(await untilFetch(scope, 60000), 60000, 'no retry after success');
});

test('5xx answers and network failures are retried with a backoff (1, 2, 4 … 30 s), never final; order holds', async () => {
  const { scope, w, rrweb } = startedReplay();
  w.emit(segment(0));
  w.emit(segment(1));
  const waits = [];
  for (let i = 0; i < 8; i++) {
    const f = scope.fetches.at(-1);
    assert.equal(f.init.body[2], 0, 'the oldest segment, again');
    if (i % 2) f.respond({ ok: false, status: 503 });
    else f.fail();
    await settle();
    waits.push(await untilFetch(scope));
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  scope.fetches.at(-1).respond({ ok: true });
  await settle();
  assert.equal(scope.fetches.at(-1).init.body[2], 1, 'then segment 1');
  assert.deepEqual(sentOps(w), [0]);
  assert.equal(rrweb.stops, 0, 'the replay goes on');
  assert.ok(!w.ops().includes('stop'));
  scope.fetches.at(-1).fail();
  await settle();
  assert.equal(await untilFetch(scope), 1000, 'the backoff started over after a success');
});

test('429 with Retry-After (seconds, a date, or none: 60 s): no request before it ends, then sending continues', async () => {
  for (const [headers, ms] of [[{ 'Retry-After': '7' }, 7000], [{}, 60000], [{ 'Retry-After': new Date(Date.now() + 20000).toUTCString() }, 20000]]) {
    const { scope, w } = startedReplay();
    w.emit(segment(0));
    scope.fetches[0].respond({ ok: false, status: 429, headers });
    await settle();
    w.emit(segment(1)); // a new segment does not cut the limit short
    const waited = await untilFetch(scope);
    assert.ok(waited >= ms - 1000 && waited <= ms + 250, `waited ${waited} ms for ${JSON.stringify(headers)}`);
    assert.equal(scope.fetches[1].init.body[2], 0, 'the same segment');
    scope.fetches[1].respond({ ok: true });
    await settle();
    assert.deepEqual(sentOps(w), [0]);
    assert.equal(scope.fetches[2].init.body[2], 1, 'then the next, in order');
    assert.ok(!w.ops().includes('stop'), 'the replay goes on');
  }
});

test('X-Sentry-Rate-Limits: the replay category (or all) holds every request until it ends, even on an accepted answer', async () => {
  const { scope, w } = startedReplay();
  w.emit(segment(0));
  w.emit(segment(1));
  scope.fetches[0].respond({ ok: false, status: 429, headers: { 'X-Sentry-Rate-Limits': '5:error:organization, 12:replay;error:project:quota' } });
  await settle();
  assert.equal(await untilFetch(scope), 12000, 'nothing before the limit ends');
  // Accepted, but the answer sets a limit for every category: the next segment waits for it.
  scope.fetches[1].respond({ ok: true, headers: { 'X-Sentry-Rate-Limits': '3::organization' } });
  await settle();
  assert.deepEqual(sentOps(w), [0]);
  assert.equal(await untilFetch(scope), 3000);
  assert.equal(scope.fetches[2].init.body[2], 1);
  // A limit for other categories only does not hold replays.
  scope.fetches[2].respond({ ok: true, headers: { 'X-Sentry-Rate-Limits': '60:error:organization' } });
  await settle();
  w.emit(segment(2));
  assert.equal(scope.fetches.length, 4);
});

test('a final refusal (4xx other than 408/429) drops that segment, says so, and the next one goes', async () => {
  const { scope, w, got } = startedReplay();
  w.emit(segment(0));
  w.emit(segment(1));
  scope.fetches[0].respond({ ok: false, status: 400 });
  await settle();
  assert.equal(scope.fetches.length, 2);
  assert.equal(scope.fetches[1].init.body[2], 1);
  assert.deepEqual(got.errors.map((e) => e.message), ['ringflate: the destination refused segment 0 (not sent again)']);
  assert.deepEqual(sentOps(w), [0], 'the worker drops it: it would be refused on every load');
});

test('offline: nothing is sent until the browser says it is online again', async () => {
  const { scope, w } = startedReplay();
  scope.navigator.onLine = false;
  w.emit(segment(0));
  scope.advance(60000);
  await settle();
  assert.equal(scope.fetches.length, 0);
  scope.navigator.onLine = true;
  scope.dispatch('online');
  assert.equal(scope.fetches.length, 1);
  // A failure while offline waits for `online`, not for the backoff.
  scope.navigator.onLine = false;
  scope.fetches[0].fail();
  await settle();
  scope.advance(60000);
  await settle();
  assert.equal(scope.fetches.length, 1);
  scope.navigator.onLine = true;
  scope.dispatch('online');
  assert.equal(scope.fetches.length, 2);
});

test('keepalive is chosen against every keepalive body in flight (64 KiB, 15 requests)', async () => {
  const { scope, w } = startedReplay();
  w.emit(segment(0, { body: new Uint8Array(65536) }));
  assert.equal(scope.fetches[0].init.keepalive, true, 'exactly 64 KiB fits');
  // The unload body counts against the same quota while segment 0 is in flight.
  w.emit(partial(1, [JSON.stringify({ type: 3, timestamp: 5 })]));
  scope.dispatch('pagehide');
  assert.equal(scope.fetches.length, 1, 'over the quota: left to the worker store');
  scope.fetches[0].respond({ ok: true });
  await settle();
  w.emit(segment(1, { body: new Uint8Array(65537) }));
  assert.equal(scope.fetches[1].init.keepalive, false, 'over 64 KiB alone: no keepalive');
  scope.fetches[1].respond({ ok: true });
  await settle();
  // 15 small keepalive requests in flight (unload deliveries of segments 2…16 that have not been answered).
  for (let i = 2; i < 17; i++) {
    w.emit(partial(i, ['{"type":3,"timestamp":1}']));
    scope.dispatch('pagehide');
  }
  assert.equal(scope.fetches.filter((f) => f.init.keepalive).length, 1 + 15);
  w.emit(partial(17, ['{"type":3,"timestamp":1}']));
  scope.dispatch('pagehide');
  assert.equal(scope.fetches.length, 2 + 15, 'a 16th is over the request count');
});

test('a body over 256 KiB goes to fetch as a Blob of the same bytes, a smaller one as the bytes', async () => {
  const { scope, w } = startedReplay();
  const big = new Uint8Array(262145).map((_, i) => (i * 7) & 255);
  w.emit(segment(0, { body: big }));
  const f = scope.fetches[0];
  assert.equal(f.init.keepalive, false);
  assert.ok(f.init.body instanceof Blob, 'a Blob, which fetch does not copy on the calling thread');
  assert.deepEqual(new Uint8Array(await f.init.body.arrayBuffer()), big, 'the segment, byte for byte');
  f.respond({ ok: true });
  await settle();
  w.emit(segment(1, { body: new Uint8Array(262144) }));
  assert.equal(scope.fetches[1].init.keepalive, false);
  assert.ok(scope.fetches[1].init.body instanceof Uint8Array, '256 KiB: the bytes');
});

test('a plain segment without url goes to transport; resolving is accepted, a throw is retried', async () => {
  const sent = [];
  let throwOnce = true;
  const transport = (s) => {
    sent.push(s.segmentId);
    if (throwOnce) {
      throwOnce = false;
      throw new Error('offline');
    }
  };
  const { scope, w } = startedReplay('session', { dsn: undefined, transport });
  assert.equal(w.posted.length, 0);
  w.emit(segment(0, { kind: 'plain', url: undefined }));
  await settle();
  assert.deepEqual(sent, [0]);
  scope.advance(1000);
  await settle();
  assert.deepEqual(sent, [0, 0]);
  assert.deepEqual(scope.fetches, [], 'transport, not fetch');
  assert.deepEqual(sentOps(w), [0]);
});

test('an endpoint segment is POSTed to the url the worker gave (the host builds no URL)', () => {
  const { scope, w } = startedReplay('session', { dsn: undefined, endpoint: 'https://mine.test/r' });
  const url = 'https://mine.test/r?replayId=' + RID + '&segmentId=0&replayType=session&start=1&end=2&eventCount=1';
  w.emit(segment(0, { kind: 'plain', url }));
  assert.equal(scope.fetches[0].url, url);
});

/** A worker-like partial for a segment holding `texts` (one chunk ending on a sync flush). */
function partial(segmentId, texts, { seq = 1, url = URL1 } = {}) {
  const so = '[' + texts.join(',');
  const adler = (t) => zlib.deflateSync(Buffer.from(t)).readUInt32BE(zlib.deflateSync(Buffer.from(t)).length - 4);
  return {
    rf: 1, op: 'partial', segmentId, seq, eventCount: texts.length, adler: adler(so), session: 's' + segmentId, url,
    head: bytes(0x78, 0x9c, 0, 1, 0, 0xfe, 0xff, 0x5b),
    chunk: new Uint8Array(zlib.deflateRawSync(Buffer.from(texts.join(',')), { finishFlush: zlib.constants.Z_SYNC_FLUSH })),
    tail: bytes(1, 1, 0, 0xfe, 0xff, 0x5d, 0, 0, 0, 0),
  };
}

test('pagehide sends the open segment, with the events not streamed yet, by keepalive fetch; sent follows the answer', async () => {
  const storage = new FakeStorage();
  const { scope, w, rrweb } = startedReplay('session', {}, { storage });
  const a = { type: 3, timestamp: 1, data: { source: 5, text: 'a' } };
  const b = { type: 3, timestamp: 2, data: { source: 5, text: 'typed just before leaving' } };
  rrweb.calls[0].emit(a);
  scope.advance(250);
  w.emit(partial(1, [JSON.stringify(a)]));
  rrweb.calls[0].emit(b);
  scope.dispatch('pagehide');
  assert.equal(scope.fetches.length, 1);
  const f = scope.fetches[0];
  assert.equal(f.url, URL1);
  assert.equal(f.init.keepalive, true);
  assert.equal(zlib.inflateSync(Buffer.from(f.init.body)).toString(), JSON.stringify([a, b]));
  assert.deepEqual(storage.sets.at(-1), ['ringflateSession', 's1']);
  assert.deepEqual(sentOps(w), [], 'not sent before the ingest answered');
  f.respond({ ok: true });
  await settle();
  assert.deepEqual(sentOps(w), [1]);
  // The page comes back (back/forward cache) and the worker finishes that segment: it is not sent twice.
  w.emit(segment(1));
  assert.equal(scope.fetches.length, 1);
  scope.dispatch('pagehide');
  assert.equal(scope.fetches.length, 1, 'nothing open: nothing sent');
});

test('an unload delivery that fails while the page lives is queued and retried; a partial without url is left alone', async () => {
  const { scope, w } = startedReplay();
  w.emit(partial(0, ['{"type":3,"timestamp":1}']));
  scope.dispatch('pagehide');
  scope.fetches[0].fail();
  await settle();
  assert.equal(await untilFetch(scope), 1000);
  assert.deepEqual(scope.fetches[1].init.body, scope.fetches[0].init.body);
  scope.fetches[1].respond({ ok: true });
  await settle();
  assert.deepEqual(sentOps(w), [0]);

  const t = startedReplay('session', { dsn: undefined, transport: () => {} });
  const bare = partial(0, ['{"type":3,"timestamp":1}']);
  delete bare.url;
  t.w.emit(bare);
  t.scope.dispatch('pagehide');
  assert.equal(t.scope.fetches.length, 0);
});

test('forget stops recording and has the worker forget', () => {
  const { r, w, rrweb } = startedReplay();
  r.forget();
  assert.deepEqual(w.ops(), ['stop', 'forget']);
  assert.equal(rrweb.stops, 1);
});

test('visibility changes are posted (hiding first posts the pending batch)', () => {
  const { scope, w, rrweb } = startedReplay();
  rrweb.calls[0].emit({ type: 3, timestamp: 1 });
  scope.setVisibility('hidden');
  scope.setVisibility('visible');
  assert.deepEqual(w.posted.map((m) => m.op + (m.op === 'hidden' ? ':' + m.hidden : '')), ['events', 'hidden:true', 'hidden:false']);
});

test('checkout takes a full snapshot; pause stops rrweb until the next input, which resumes', () => {
  const { scope, w, rrweb } = startedReplay();
  w.emit({ rf: 1, op: 'checkout' });
  assert.deepEqual(rrweb.snapshots, [true]);
  w.emit({ rf: 1, op: 'pause' });
  assert.equal(rrweb.stops, 1);
  for (const t of ['pointerdown', 'keydown', 'scroll', 'touchstart']) assert.equal(scope.listenerCount(t), 1, t);
  scope.dispatch('keydown');
  assert.deepEqual(w.ops(), ['resume']);
  assert.equal(rrweb.calls.length, 2, 'recording again');
  for (const t of ['pointerdown', 'keydown', 'scroll', 'touchstart']) assert.equal(scope.listenerCount(t), 0, t);
});

test('stopped (idle or maxDuration) stops rrweb and starts a new replay at the next input; stop does not', () => {
  for (const reason of ['idle', 'maxDuration']) {
    const { scope, w, rrweb } = startedReplay();
    w.emit({ rf: 1, op: 'stopped', reason });
    assert.equal(rrweb.stops, 1);
    scope.dispatch('pointerdown');
    assert.deepEqual(w.ops(), ['start'], reason);
    scope.dispatch('pointerdown');
    assert.deepEqual(w.ops(), ['start'], 'once');
  }
  for (const reason of ['stop', 'segmentLimit', 'internalError']) {
    const { scope, w } = startedReplay();
    w.emit({ rf: 1, op: 'stopped', reason });
    scope.dispatch('pointerdown');
    assert.deepEqual(w.ops(), [], reason);
  }
});

test('stop: rrweb stops, the worker is told once, listeners are removed', () => {
  const { r, scope, w, rrweb } = startedReplay();
  r.stop();
  r.stop();
  assert.deepEqual(w.ops(), ['stop']);
  assert.equal(rrweb.stops, 1);
  assert.equal(scope.listenerCount('pagehide'), 0);
  assert.equal(scope.docListeners.get('visibilitychange').size, 0);
});

test('the Replay API: captureError, trace, flush, replayId, mode', () => {
  const { r, w } = startedReplay('buffer');
  assert.equal(r.replayId, RID);
  assert.equal(r.mode, 'buffer');
  assert.equal(r.captureError(new Error('x'), { eventId: 'e1' }), true);
  assert.equal(r.mode, 'session');
  r.trace('0123456789abcdef0123456789abcdef');
  r.flush();
  assert.deepEqual(w.posted, [
    { rf: 1, op: 'error', eventId: 'e1', sampled: true },
    { rf: 1, op: 'trace', traceId: '0123456789abcdef0123456789abcdef' },
    { rf: 1, op: 'flush' },
  ]);
});

test('the worker cannot start: onError once, ready resolves with mode off, nothing is recorded', async () => {
  const reason = 'ringflate: WebAssembly is not available in this worker';
  const { r, w, rrweb, got } = replay();
  w.init({ success: false, response: reason, version: VERSION });
  const ready = await settles(r.ready);
  assert.deepEqual(got.errors.map((e) => e.message), [reason]);
  assert.equal(ready.mode, 'off');
  assert.equal(ready.replayId, undefined);
  assert.equal(ready.error, got.errors[0]);
  assert.equal(rrweb.calls.length, 0);
});

test('a worker that stops answering: its open segment is sent by the host, a new worker starts, sent follows', async () => {
  const { scope, w, got } = startedReplay();
  w.emit({ rf: 1, op: 'pong' });
  w.emit(partial(2, ['{"type":3,"timestamp":1}']));
  scope.advance(1500);
  assert.equal(scope.workers.length, 2, 'replaced');
  assert.equal(got.errors.length, 1);
  assert.equal(scope.fetches.length, 1);
  assert.equal(zlib.inflateSync(Buffer.from(scope.fetches[0].init.body)).toString(), '[{"type":3,"timestamp":1}]');
  scope.fetches[0].respond({ ok: true });
  await settle();
  // `sent` goes to the worker that is there now (it deletes its stored copy).
  assert.deepEqual(scope.worker.posted, [{ rf: 1, op: 'sent', replayId: RID, segmentId: 2 }], 'the worker deletes its copy, even before start');
  scope.worker.init({ version: VERSION });
  scope.worker.emit({ rf: 1, op: 'started', replayId: RID, mode: 'session', draws: [], segmentId: 3 });
  // Its stored copy handed over anyway: not sent, and `sent` again.
  scope.worker.emit(segment(2));
  assert.equal(scope.fetches.length, 1);
  assert.deepEqual(scope.worker.ops(), ['sent', 'start', 'sent']);
});

test('the send queue holds the newest 16 MiB besides the request in flight; older ones are left to the worker store', async () => {
  const { scope, w } = startedReplay();
  const MiB = 1 << 20;
  w.emit(segment(0, { body: new Uint8Array(6 * MiB) })); // in flight
  for (let i = 1; i <= 5; i++) w.emit(segment(i, { body: new Uint8Array(4 * MiB) }));
  // Newest first: 5, 4, 3, 2 make 16 MiB; segment 1 is over it and dropped; segment 0 is in flight and stays.
  for (let i = 0; i < scope.fetches.length; i++) {
    scope.fetches[i].respond({ ok: true });
    await settle();
  }
  assert.deepEqual(sentOps(w), [0, 2, 3, 4, 5]);
});
