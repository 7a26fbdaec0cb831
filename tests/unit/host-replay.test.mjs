// startReplay (host-js/src/index.js) with a fake page scope: fake worker, clock, fetch, sendBeacon, document and
// window listeners, and a fake rrweb. What it sends where, its retries and their limits, pagehide delivery, and
// how it follows the worker's checkout / pause / stopped.
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
  assert.deepEqual(w.posted, [{ rf: 1, op: 'events', json: '[{"type":4,"timestamp":1},{"type":2,"timestamp":2}]' }]);

  const off = startedReplay('off');
  assert.equal(off.rrweb.calls.length, 0, 'off: rrweb is not started');
  const none = startedReplay('session', { record: false });
  assert.equal(none.rrweb.calls.length, 0, 'record: false');
});

test('a segment with a url is POSTed there (keepalive up to 60 KB) and passed to onSegment', async () => {
  const { scope, w, got } = startedReplay();
  w.emit(segment(0));
  const big = new Uint8Array(60001);
  w.emit(segment(1, { body: big }));
  assert.equal(scope.fetches.length, 2);
  assert.equal(scope.fetches[0].url, URL1);
  assert.deepEqual(scope.fetches[0].init, { method: 'POST', body: bytes(0x78, 0x9c, 0), keepalive: true });
  assert.equal(scope.fetches[1].init.keepalive, false, 'over 60 KB: no keepalive');
  assert.deepEqual(got.segments.map((s) => s.segmentId), [0, 1]);
  scope.fetches[0].respond({ ok: true });
  scope.fetches[1].respond({ ok: true });
  await settle();
  assert.deepEqual(scope.pendingTimers(), [], 'no retry after success');
});

test('network failures are retried after 5, 10 and 30 s, then the replay stops', async () => {
  const { scope, w, rrweb } = startedReplay();
  w.emit(segment(0));
  const waits = [];
  for (let i = 0; i < 4; i++) {
    assert.equal(scope.fetches.length, i + 1);
    scope.fetches[i].fail();
    await settle();
    if (i < 3) {
      waits.push(scope.pendingTimers()[0]);
      scope.advance(waits[i]);
    }
  }
  assert.deepEqual(waits, [5000, 10000, 30000]);
  assert.ok(scope.fetches.every((f) => f.url === URL1 && f.init.body[2] === 0), 'the same segment each time');
  assert.deepEqual(w.ops(), ['stop'], 'out of retries: stop');
  assert.equal(rrweb.stops, 1, 'rrweb stopped');
  scope.advance(60000);
  assert.equal(scope.fetches.length, 4, 'no fifth attempt');
});

test('a refusal (not ok, e.g. 429) is final: no retry, the replay stops', async () => {
  const { scope, w } = startedReplay();
  w.emit(segment(0));
  scope.fetches[0].respond({ ok: false, status: 429 });
  await settle();
  assert.deepEqual(scope.pendingTimers(), []);
  assert.deepEqual(w.ops(), ['stop']);
});

test('a plain segment without url goes to transport; a transport that throws is retried', async () => {
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
  assert.deepEqual(scope.pendingTimers(), [5000]);
  scope.advance(5000);
  await settle();
  assert.deepEqual(sent, [0, 0]);
  assert.deepEqual(scope.fetches, [], 'transport, not fetch');
  assert.deepEqual(scope.pendingTimers(), []);
});

test('an endpoint segment is POSTed to the url the worker gave (the host builds no URL)', () => {
  const { scope, w } = startedReplay('session', { dsn: undefined, endpoint: 'https://mine.test/r' });
  const url = 'https://mine.test/r?replayId=' + RID + '&segmentId=0&replayType=session&start=1&end=2&eventCount=1';
  w.emit(segment(0, { kind: 'plain', url }));
  assert.equal(scope.fetches[0].url, url);
});

test('pagehide sends the open segment with sendBeacon byte for byte, stores its session, and does not send it again', () => {
  const storage = new FakeStorage();
  const { scope, w } = startedReplay('session', {}, { storage });
  w.emit({ rf: 1, op: 'partial', segmentId: 1, chunk: bytes(5, 6), head: bytes(1, 2), tail: bytes(9), session: 's1', url: URL1 });
  w.emit({ rf: 1, op: 'partial', segmentId: 1, chunk: bytes(7), head: bytes(1, 3), tail: bytes(8, 9), session: 's1b', url: URL1 });
  scope.dispatch('pagehide');
  assert.equal(scope.beacons.length, 1);
  assert.equal(scope.beacons[0].url, URL1);
  assert.deepEqual(scope.beacons[0].body, bytes(1, 3, 5, 6, 7, 8, 9));
  assert.deepEqual(storage.sets.at(-1), ['ringflateSession', 's1b']);
  // The page comes back (back/forward cache) and the worker finishes that segment: it is not sent twice.
  w.emit(segment(1));
  assert.deepEqual(scope.fetches, []);
  scope.dispatch('pagehide');
  assert.equal(scope.beacons.length, 1, 'nothing open: no beacon');
});

test('a refused beacon leaves the segment to the worker; a partial without url is not beaconed', () => {
  const { scope, w } = startedReplay();
  scope.beaconAnswer = false;
  w.emit({ rf: 1, op: 'partial', segmentId: 0, chunk: bytes(1), head: bytes(0), tail: bytes(2), session: 's', url: URL1 });
  scope.dispatch('pagehide');
  assert.equal(scope.beacons.length, 1);
  w.emit(segment(0));
  assert.equal(scope.fetches.length, 1, 'sent normally');

  const t = startedReplay('session', { dsn: undefined, transport: () => {} });
  t.w.emit({ rf: 1, op: 'partial', segmentId: 0, chunk: bytes(1), head: bytes(0), tail: bytes(2), session: 's' });
  t.scope.dispatch('pagehide');
  assert.equal(t.scope.beacons.length, 0);
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
