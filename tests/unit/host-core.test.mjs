// The engine core (host-js/src/core.js) against a fake worker, clock and storage: the messages each call posts,
// what each worker message makes it do, the unload body byte for byte, and how failures are reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createEngine, VERSION } from '../../host-js/src/core.js';
import { fakeScope, FakeStorage, settle, settles, bytes } from './fakes.mjs';

const config = { sessionSampleRate: 1, errorSampleRate: 0 };

function engine(options = {}, scopeOptions = {}) {
  const scope = fakeScope(scopeOptions);
  const calls = { errors: [], segments: [], started: [], stopped: [], checkouts: 0, pauses: 0 };
  const e = createEngine(
    {
      workerUrl: '/w.js',
      config,
      onError: (err) => calls.errors.push(err),
      onSegment: (s) => calls.segments.push(s),
      onStarted: (s) => calls.started.push(s),
      onStopped: (r) => calls.stopped.push(r),
      onCheckout: () => calls.checkouts++,
      onPause: () => calls.pauses++,
      ...options,
    },
    scope,
  );
  return { e, scope, w: scope.worker, calls };
}

/** A started engine in `mode`, with the worker's messages so far cleared. */
function started(mode = 'session', { draws = [], replayId = 'a'.repeat(32), ...options } = {}, scopeOptions) {
  const t = engine(options, scopeOptions);
  t.w.init({ version: VERSION });
  t.w.emit({ rf: 1, op: 'started', replayId, mode, draws, segmentId: 0 });
  t.w.posted.length = 0;
  return t;
}

const segment = (segmentId, extra = {}) => ({
  rf: 1, op: 'segment', replayId: 'a'.repeat(32), segmentId, replayType: 'session', start: 1, end: 2, eventCount: 1,
  kind: 'envelope', url: 'https://ingest.test/api/1/envelope/?sentry_key=k', body: bytes(1, 2, 3), ...extra,
});

test('VERSION is the package version', () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../host-js/package.json', import.meta.url), 'utf8'));
  assert.equal(VERSION, pkg.version);
});

test('the worker is created from workerUrl as given; start is posted only after the worker says it is ready', () => {
  const trusted = { toString: () => '/tt/w.js', toJSON: () => '/tt/w.js' };
  const { w } = engine({ workerUrl: trusted });
  assert.equal(w.url, trusted, 'a TrustedScriptURL is passed to the Worker constructor unchanged');
  assert.deepEqual(w.posted, [], 'nothing before init');
  w.init({ version: VERSION });
  assert.deepEqual(w.posted, [{ rf: 1, op: 'start', config, session: null, url: 'https://app.test/page' }]);
});

test('start carries the config without unset fields, the stored session value and the page url', () => {
  const storage = new FakeStorage({ ringflateSession: '{"v":1,"id":"x"}' });
  const { w } = engine({ config: { sessionSampleRate: 0.5, errorSampleRate: 1, bufferMs: undefined, dsn: 'https://k@h/1' }, url: 'https://other.test/' }, { storage });
  w.init({ version: VERSION });
  assert.equal(w.posted.length, 1);
  assert.deepEqual(w.posted[0], {
    rf: 1, op: 'start', config: { sessionSampleRate: 0.5, errorSampleRate: 1, dsn: 'https://k@h/1' }, session: '{"v":1,"id":"x"}', url: 'https://other.test/',
  });
  assert.ok(!('bufferMs' in w.posted[0].config), 'an unset field is left out, not sent as undefined');
});

test('a different worker version is said once, clearly; the same version says nothing', () => {
  const a = engine();
  a.w.init({ version: '9.9.9' });
  assert.equal(a.scope.warnings.length, 1);
  assert.match(a.scope.warnings[0], /^ringflate: the worker file is version 9\.9\.9 and this host script 0\.1\.0/);
  assert.ok(!a.scope.warnings[0].includes('ringflate: ringflate:'));
  assert.equal(a.w.posted[0].op, 'start', 'a version difference does not stop the engine');
  a.w.emit({ rf: 1, op: 'started', replayId: 'a'.repeat(32), mode: 'session', draws: [], segmentId: 0 });
  a.w.emit(segment(0));
  assert.equal(a.scope.warnings.length, 1, 'said once');

  const b = engine();
  b.w.init({ version: VERSION });
  assert.deepEqual(b.scope.warnings, []);

  const c = engine();
  c.w.init({ version: undefined, protocol: undefined });
  assert.match(c.scope.warnings[0], /version unknown/);
});

test('the engine cannot start: onError once with the worker text as is, ready resolves with mode off and that error', async () => {
  const reason = "ringflate: the Content Security Policy sent with the worker file forbids compiling WebAssembly. Add 'wasm-unsafe-eval'";
  const { e, w, calls } = engine();
  let settled = null;
  e.ready.then((r) => (settled = r));
  w.init({ success: false, response: reason, version: VERSION });
  await settle();
  assert.equal(calls.errors.length, 1);
  assert.equal(calls.errors[0].message, reason, 'no prefix added to the worker text');
  assert.deepEqual(settled, { replayId: undefined, mode: 'off', error: calls.errors[0] });
  assert.equal(w.terminated, true, 'the useless worker is terminated');
  assert.deepEqual(w.posted, [], 'no start');
  e.add([{ type: 3, timestamp: 1 }]);
  e.flush();
  e.stop();
  assert.equal(e.error('id'), false);
  assert.deepEqual(w.posted, [], 'nothing is posted to a failed engine');
  assert.equal(e.mode, 'off');
  assert.equal(calls.errors.length, 1, 'once');
});

test('the worker file does not load: one clear error naming workerUrl, ready settles', async () => {
  const { e, w, calls } = engine({ workerUrl: '/missing/ringflate-worker.js' });
  w.onerror({});
  w.onerror({});
  const r = await settles(e.ready);
  assert.equal(calls.errors.length, 1, 'once per cause');
  assert.match(calls.errors[0].message, /^ringflate: the worker file did not load from \/missing\/ringflate-worker\.js \(check workerUrl and the page's worker-src\)$/);
  assert.equal(r.mode, 'off');
  assert.equal(r.error, calls.errors[0]);
});

test('a worker that fails after starting: one error with the browser text, prefixed once; nothing more is posted', async () => {
  const { e, w, calls } = started();
  w.onerror({ message: 'Uncaught RangeError: out of memory' });
  assert.deepEqual(calls.errors.map((x) => x.message), ['ringflate: the worker failed: Uncaught RangeError: out of memory']);
  assert.equal(w.terminated, true);
  assert.equal(e.mode, 'off');
  e.add([{ type: 3, timestamp: 1 }]);
  e.flush();
  assert.deepEqual(w.posted, []);
  assert.deepEqual(await settles(e.ready), { replayId: 'a'.repeat(32), mode: 'session' }, 'ready had already settled with the decision');
});

test('a worker that cannot be created (Trusted Types) fails after createEngine returns, with a hint; nothing throws', async () => {
  class Refusing {
    constructor() {
      throw new TypeError("Failed to construct 'Worker': This document requires 'TrustedScriptURL' assignment.");
    }
  }
  const scope = fakeScope({ WorkerClass: Refusing });
  scope.trustedTypes = { isScriptURL: (v) => typeof v === 'object' && v !== null && v.trusted === true };
  const errors = [];
  const e = createEngine({ workerUrl: '/w.js', config, onError: (err) => errors.push(err) }, scope);
  assert.deepEqual(errors, [], 'not reported synchronously');
  const r = await settles(e.ready);
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /^ringflate: the worker could not be created: this page enforces Trusted Types, so workerUrl must be a TrustedScriptURL/);
  assert.match(errors[0].message, /Browser said: Failed to construct 'Worker'/);
  assert.deepEqual(r, { replayId: undefined, mode: 'off', error: errors[0] });

  // Another cause of the same exception gets no Trusted Types hint.
  const plain = fakeScope({ WorkerClass: class { constructor() { throw new SyntaxError('bad URL'); } } });
  const e2 = createEngine({ workerUrl: 'http://[', config, onError: () => {} }, plain);
  const r2 = await settles(e2.ready);
  assert.equal(r2.error.message, 'ringflate: the worker could not be created. Browser said: bad URL');
});

test('started: ready resolves once with the decision, onStarted gets the message', async () => {
  const { e, w, calls } = engine();
  w.init({ version: VERSION });
  const msg = { rf: 1, op: 'started', replayId: 'b'.repeat(32), mode: 'buffer', draws: [true], segmentId: 3 };
  w.emit(msg);
  assert.deepEqual(await settles(e.ready), { replayId: 'b'.repeat(32), mode: 'buffer' });
  assert.equal(e.replayId, 'b'.repeat(32));
  assert.equal(e.mode, 'buffer');
  assert.deepEqual(calls.started, [msg]);
});

test('events are posted as one JSON string per batch window', () => {
  const { e, w, scope } = started('session', { batchMs: 100 });
  const a = { type: 3, timestamp: 1, data: { source: 2 } };
  const b = { type: 3, timestamp: 2, data: { text: 'é"\\' } };
  e.add([a]);
  e.add([b]);
  scope.advance(99);
  assert.deepEqual(w.posted, [], 'nothing before the window ends');
  scope.advance(1);
  assert.deepEqual(w.posted, [{ rf: 1, op: 'events', json: JSON.stringify([a, b]), seq: 1 }]);
  e.add([a]);
  assert.deepEqual(scope.pendingTimers(), [400, 100], 'the next ping, and one timer for the next window');
  e.hidden(true);
  assert.deepEqual(w.posted.slice(1), [{ rf: 1, op: 'events', json: JSON.stringify([a]), seq: 2 }, { rf: 1, op: 'hidden', hidden: true }], 'hiding posts the batch first');
  e.hidden(false);
  assert.deepEqual(w.posted[3], { rf: 1, op: 'hidden', hidden: false });
  scope.advance(1000);
  assert.equal(w.posted.length, 4, 'the cleared timer posts nothing');
});

test('the default batch window is 250 ms; events are ignored before started, in off mode and after stop', () => {
  const t = engine();
  t.e.add([{ type: 4, timestamp: 1 }]);
  t.w.init({ version: VERSION });
  t.w.emit({ rf: 1, op: 'started', replayId: 'a'.repeat(32), mode: 'off', draws: [], segmentId: 0 });
  t.e.add([{ type: 4, timestamp: 1 }]);
  t.scope.advance(1000);
  assert.deepEqual(t.w.ops(), ['start'], 'nothing before started, nothing in off mode');

  const { e, w, scope } = started('session');
  e.add([{ type: 4, timestamp: 1 }]);
  scope.advance(249);
  assert.deepEqual(w.posted, []);
  scope.advance(1);
  assert.deepEqual(w.ops(), ['events']);
  e.add([{ type: 4, timestamp: 2 }]);
  e.stop();
  e.stop();
  e.add([{ type: 4, timestamp: 3 }]);
  scope.advance(1000);
  assert.deepEqual(w.ops(), ['events', 'events', 'stop'], 'stop posts the pending batch, then stop, once');
  assert.deepEqual(JSON.parse(w.posted[1].json), [{ type: 4, timestamp: 2 }]);
});

test('error sampling is answered synchronously from the draws, and every answer is posted', () => {
  const { e, w } = started('buffer', { draws: [false, true] });
  assert.equal(e.error('e1'), false);
  w.emit({ rf: 1, op: 'draws', draws: [true] });
  assert.equal(e.error(), true, 'second draw');
  assert.equal(e.mode, 'session', 'a sampled error turns the buffer into a recorded session');
  assert.equal(e.error('e3'), true, 'session mode: every error gets the replay');
  assert.deepEqual(w.posted, [
    { rf: 1, op: 'error', eventId: 'e1', sampled: false },
    { rf: 1, op: 'error', sampled: true },
    { rf: 1, op: 'error', eventId: 'e3', sampled: true },
  ]);
  assert.ok(!('eventId' in w.posted[1]), 'no eventId: the field is absent');

  const empty = started('buffer', { draws: [false] });
  assert.equal(empty.e.error(), false);
  assert.equal(empty.e.error(), false, 'an empty queue answers not sampled');
  assert.equal(empty.e.mode, 'buffer');
  assert.deepEqual(empty.w.posted.map((m) => m.sampled), [false, false]);

  const more = started('buffer', { draws: [false] });
  more.w.emit({ rf: 1, op: 'draws', draws: [false, true] });
  assert.deepEqual([more.e.error(), more.e.error(), more.e.error()], [false, false, true], 'draws are appended in order');

  const off = started('off');
  assert.equal(off.e.error('x'), false);
  assert.deepEqual(off.w.posted, [], 'off: nothing posted');
});

test('an error posts the pending batch before itself', () => {
  const { e, w } = started('buffer', { draws: [true] });
  e.add([{ type: 3, timestamp: 5 }]);
  e.error('id');
  assert.deepEqual(w.ops(), ['events', 'error']);
});

test('trace ids are posted while recording, ignored before started and in off mode', () => {
  const t = engine();
  t.e.trace('1'.repeat(32));
  t.w.init({ version: VERSION });
  assert.deepEqual(t.w.ops(), ['start']);
  const { e, w } = started('buffer');
  e.trace('0123456789abcdef0123456789abcdef');
  assert.deepEqual(w.posted, [{ rf: 1, op: 'trace', traceId: '0123456789abcdef0123456789abcdef' }]);
  const off = started('off');
  off.e.trace('1'.repeat(32));
  assert.deepEqual(off.w.posted, []);
});

test('flush and resume post their messages', () => {
  const { e, w } = started();
  e.add([{ type: 3, timestamp: 1 }]);
  e.flush();
  e.resume();
  assert.deepEqual(w.ops(), ['events', 'flush', 'resume']);
});

test('session values are stored verbatim; storage is pluggable and its failures are ignored', () => {
  const storage = new FakeStorage();
  const { w } = started('session', { storage, storageKey: 'k' });
  w.emit({ rf: 1, op: 'session', value: '{"v":1,"segmentId":4}' });
  assert.deepEqual(storage.sets, [['k', '{"v":1,"segmentId":4}']]);

  const broken = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('full'); } };
  const b = engine({ storage: broken });
  b.w.init({ version: VERSION });
  assert.equal(b.w.posted[0].session, null, 'an unreadable store starts a new replay');
  b.w.emit({ rf: 1, op: 'session', value: 'x' });

  const none = engine({ storage: null }, { storage: new FakeStorage({ ringflateSession: 'stored' }) });
  none.w.init({ version: VERSION });
  assert.equal(none.w.posted[0].session, null, 'storage: null reads nothing');

  const def = engine({}, { storage: new FakeStorage({ ringflateSession: 'stored' }) });
  def.w.init({ version: VERSION });
  assert.equal(def.w.posted[0].session, 'stored', 'sessionStorage by default');
});

test('checkout, pause and stopped are forwarded; restart after stopped starts again with the stored value', () => {
  const storage = new FakeStorage();
  const { e, w, calls } = started('session', { storage });
  w.emit({ rf: 1, op: 'checkout' });
  w.emit({ rf: 1, op: 'pause' });
  assert.equal(calls.checkouts, 1);
  assert.equal(calls.pauses, 1);
  e.restart();
  assert.deepEqual(w.posted, [], 'no restart while the replay runs');
  w.emit({ rf: 1, op: 'session', value: '{"ended":1}' });
  w.emit({ rf: 1, op: 'stopped', reason: 'idle' });
  assert.deepEqual(calls.stopped, ['idle']);
  assert.equal(e.mode, 'off');
  e.restart();
  assert.deepEqual(w.posted, [{ rf: 1, op: 'start', config, session: '{"ended":1}', url: 'https://app.test/page' }]);
});

test('stop before the worker is ready: no start is ever posted and ready settles', async () => {
  const { e, w } = engine();
  e.stop();
  const r = await settles(e.ready);
  assert.equal(r.mode, 'off');
  assert.match(r.error.message, /^ringflate: stopped before the replay started$/);
  w.init({ version: VERSION });
  assert.deepEqual(w.posted, []);
});

test('segments are handed over in order; rejections go to onError once per cause, with the code, text as is', () => {
  const { w, calls } = started();
  w.emit(segment(0));
  w.emit(segment(1, { kind: 'recording', url: undefined, replayEvent: '{"type":"replay_event"}' }));
  assert.deepEqual(calls.segments.map((s) => s.segmentId), [0, 1]);
  assert.equal(calls.segments[1].replayEvent, '{"type":"replay_event"}');
  const rejected = { rf: 1, op: 'rejected', of: 'events', code: 'bad_batch', message: 'ringflate: events: json is not a JSON array' };
  w.emit(rejected);
  w.emit({ ...rejected });
  w.emit({ ...rejected, code: 'bad_field', of: 'error', message: 'ringflate: error: sampled must be a boolean' });
  assert.deepEqual(calls.errors.map((e) => [e.message, e.code]), [
    ['ringflate: events: json is not a JSON array', 'bad_batch'],
    ['ringflate: error: sampled must be a boolean', 'bad_field'],
  ]);
  w.emit({ rf: 1, op: 'stats', events: 1, eventBytes: 1, compressedInputBytes: 1, segments: 1, segmentBytes: 1, bufferBytes: 0, droppedGenerations: 0, droppedBytes: 0 });
  assert.equal(calls.errors.length, 2, 'stats changes nothing');
});

test('delivered: stores the session value and the same segment is not handed over again (only for that replay)', () => {
  const storage = new FakeStorage();
  const { e, w, calls } = started('session', { storage });
  w.emit({ rf: 1, op: 'partial', segmentId: 5, chunk: bytes(1), head: bytes(0), tail: bytes(2), session: 'after5', url: 'https://i.test/', seq: 0, eventCount: 0, adler: 1 });
  const p = e.partial();
  e.delivered(p);
  assert.deepEqual(storage.sets.filter(([k]) => k === 'ringflateSession'), [['ringflateSession', 'after5']]);
  assert.equal(e.partial(), null);
  w.emit(segment(5));
  assert.deepEqual(calls.segments, [], 'already delivered');
  w.emit(segment(6));
  assert.deepEqual(calls.segments.map((s) => s.segmentId), [6]);
  // A later replay that reaches the same segment id sends it.
  w.emit({ rf: 1, op: 'stopped', reason: 'idle' });
  e.restart();
  w.emit({ rf: 1, op: 'started', replayId: 'c'.repeat(32), mode: 'session', draws: [], segmentId: 0 });
  w.emit(segment(5, { replayId: 'c'.repeat(32) }));
  assert.deepEqual(calls.segments.map((s) => s.segmentId), [6, 5]);
});
