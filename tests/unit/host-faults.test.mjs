// The engine core's fault handling (host-js/src/core.js) against a fake worker and clock: `events.seq`, the
// lossless unload body (inflated and compared with the events the page added, for plain, recording and envelope
// heads, across stored-block boundaries), liveness pings and the replacement worker, `sent` and `forget`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { createEngine, unloadBody, VERSION } from '../../host-js/src/core.js';
import { parseEnvelope } from '../lib/envelope.mjs';
import { fakeScope, FakeStorage, bytes } from './fakes.mjs';

const RID = 'a'.repeat(32);
const config = { sessionSampleRate: 1, errorSampleRate: 0 };

function started({ storage = new FakeStorage(), mode = 'session', ...options } = {}) {
  const scope = fakeScope({ storage });
  const calls = { errors: [], segments: [], started: [], checkouts: 0 };
  const e = createEngine(
    {
      workerUrl: '/w.js',
      config,
      onCheckout: () => calls.checkouts++,
      onError: (err) => calls.errors.push(err),
      onSegment: (s) => calls.segments.push(s),
      onStarted: (s) => calls.started.push(s),
      ...options,
    },
    scope,
  );
  scope.worker.init({ version: VERSION });
  scope.worker.emit({ rf: 1, op: 'started', replayId: RID, mode, draws: [], segmentId: 0 });
  scope.worker.posted.length = 0;
  return { e, scope, calls, storage };
}

const adler = (text) => zlib.deflateSync(Buffer.from(text)).readUInt32BE(zlib.deflateSync(Buffer.from(text)).length - 4);
const syncRaw = (text) => new Uint8Array(zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
const STORED_OPEN = [0x78, 0x9c, 0x00, 0x01, 0x00, 0xfe, 0xff, 0x5b]; // zlib header + stored "["

/**
 * What the worker streams for an open segment holding `texts` (event texts), as `partial` messages: one chunk
 * per group (each a raw deflate run ending on a sync flush), head up to and including the stored "[".
 */
function partials(segmentId, groups, { seq, prefix = new Uint8Array(0), lengthLine = null } = {}) {
  const all = groups.flat();
  const so = '[' + all.join(',');
  const tail = Uint8Array.from([0x01, 0x01, 0x00, 0xfe, 0xff, 0x5d, ...zlib.deflateSync(Buffer.from(so + ']')).subarray(-4)]);
  const chunks = [];
  let done = 0;
  for (const g of groups) {
    chunks.push(g.length ? syncRaw((done ? ',' : '') + g.join(',')) : new Uint8Array(0));
    done += g.length;
  }
  let head = Uint8Array.from([...prefix, ...STORED_OPEN]);
  if (lengthLine) {
    const payload = head.length - prefix.length + chunks.reduce((n, c) => n + c.length, 0) + tail.length;
    head = Uint8Array.from([...lengthLine(payload), ...head]);
  }
  return chunks.map((chunk, i) => ({
    rf: 1, op: 'partial', segmentId, chunk, head, tail, session: `s${segmentId}`, seq: seq[i],
    eventCount: groups.slice(0, i + 1).flat().length, adler: adler('[' + groups.slice(0, i + 1).flat().join(',')),
  }));
}

const texts = (events) => events.map((ev) => JSON.stringify(ev));
const ev = (i, extra = {}) => ({ type: 3, timestamp: 1000 + i, data: { source: 5, text: 'typed ' + i + ' é€😀' }, ...extra });

test('events messages are numbered 1, 2, 3 …', () => {
  const { e, scope } = started();
  e.add([ev(1)]);
  scope.advance(250);
  e.add([ev(2)]);
  e.flush();
  assert.deepEqual(scope.worker.posted.filter((m) => m.op === 'events').map((m) => m.seq), [1, 2]);
});

test('unload body: what the worker streamed, then the events it has not (posted and pending), inflates to every event once', () => {
  const { e, scope } = started();
  const w = scope.worker;
  const [a, b, c, d] = [ev(1), ev(2), ev(3), ev(4)];
  e.add([a, b]);
  scope.advance(250); // batch 1
  for (const p of partials(0, [texts([a, b])], { seq: [1] })) w.emit({ ...p, url: 'https://i.test/r' });
  e.add([c]);
  scope.advance(250); // batch 2: posted, not reported by a partial
  e.add([d]); // pending
  const u = e.partial();
  assert.equal(w.posted.at(-1).op, 'events', 'the pending batch is posted too, so the worker keeps it');
  assert.equal(w.posted.at(-1).seq, 3);
  assert.equal(u.replayId, RID);
  assert.equal(u.segmentId, 0);
  assert.equal(u.url, 'https://i.test/r');
  assert.equal(u.session, 's0');
  const text = zlib.inflateSync(Buffer.from(u.body)).toString('utf8');
  assert.equal(text, JSON.stringify([a, b, c, d]), 'every event once, in order, and the Adler-32 checks (inflateSync verifies it)');
  // Byte-exact framing: head and chunk as given, then stored blocks, the final "]" and the Adler-32.
  const tailText = ',' + texts([c, d]).join(',');
  const n = Buffer.byteLength(tailText);
  const after = u.body.subarray(u.body.length - (5 + n + 6 + 4));
  assert.deepEqual([...after.subarray(0, 5)], [0, n & 255, n >> 8, ~n & 255, (~n >> 8) & 255], 'one stored block header');
  assert.equal(Buffer.from(after.subarray(5, 5 + n)).toString('utf8'), tailText);
  assert.deepEqual([...after.subarray(5 + n, 5 + n + 6)], [1, 1, 0, 0xfe, 0xff, 0x5d], 'final stored block "]"');
  assert.equal(Buffer.from(after.subarray(-4)).readUInt32BE(), adler(JSON.stringify([a, b, c, d])));
});

test('unload body: several partials, the worker reported everything, and an empty open segment', () => {
  const { e, scope } = started();
  const w = scope.worker;
  const evs = [ev(1), ev(2), ev(3)];
  e.add([evs[0]]);
  scope.advance(250);
  e.add([evs[1], evs[2]]);
  scope.advance(250);
  for (const p of partials(4, [texts([evs[0]]), texts([evs[1], evs[2]])], { seq: [1, 2] })) w.emit(p);
  assert.equal(zlib.inflateSync(Buffer.from(e.partial().body)).toString(), JSON.stringify(evs), 'nothing left to append');

  // The segment closed; the next one is open with no events yet (eventCount 0: no leading comma).
  w.emit({ rf: 1, op: 'segment', replayId: RID, segmentId: 4, replayType: 'session', start: 1, end: 2, eventCount: 3, kind: 'plain', body: bytes(1) });
  assert.equal(e.partial(), null, 'nothing open');
  const [p0] = partials(5, [[]], { seq: [2] });
  w.emit(p0);
  const later = ev(9);
  e.add([later]);
  assert.equal(zlib.inflateSync(Buffer.from(e.partial().body)).toString(), JSON.stringify([later]));
});

test('unload body over 64 KiB of new text is split into stored blocks of at most 65535 bytes', () => {
  const { e, scope } = started();
  const w = scope.worker;
  const first = ev(0);
  e.add([first]);
  scope.advance(250);
  for (const p of partials(1, [texts([first])], { seq: [1] })) w.emit(p);
  const big = [ev(1, { data: { source: 5, text: 'x'.repeat(70000) } }), ev(2, { data: { source: 5, text: 'ü'.repeat(40000) } })];
  e.add(big);
  const body = e.partial().body;
  assert.equal(zlib.inflateSync(Buffer.from(body)).toString(), JSON.stringify([first, ...big]));
});

test('unload body in an envelope: the recording length grows by what replaces the tail, and it parses strictly', () => {
  const { e, scope } = started();
  const w = scope.worker;
  const now = Date.now() / 1000;
  const replayEvent = { type: 'replay_event', replay_id: RID, segment_id: 2, replay_type: 'session', replay_start_timestamp: now, timestamp: now, error_ids: [], trace_ids: [], urls: ['https://app.test/"length":7'] };
  const lines = (len) =>
    Buffer.from(
      [JSON.stringify({ event_id: RID, sent_at: new Date().toISOString(), sdk: { name: 'ringflate', version: '0' } }), '{"type":"replay_event"}', JSON.stringify(replayEvent), `{"type":"replay_recording","length":${len}}`, ''].join('\n'),
    );
  const prefix = Buffer.from('{"segment_id":2}\n');
  const a = ev(1);
  e.add([a]);
  scope.advance(250);
  const [p] = partials(2, [texts([a])], { seq: [1], prefix, lengthLine: (payload) => lines(prefix.length + payload) });
  w.emit(p);
  // As the worker gave it, head + chunks + tail parses.
  assert.deepEqual(parseEnvelope(Buffer.concat([p.head, p.chunk, p.tail])).replay.events, [a]);
  const more = [ev(2), ev(3)];
  e.add(more);
  const env = parseEnvelope(Buffer.from(e.partial().body), { expectCompressed: true });
  assert.deepEqual(env.replay.events, [a, ...more]);
  assert.equal(env.replay.segmentId, 2);
});

test('unloadBody is byte-exact: head and chunks unchanged, then blocks, "]" and Adler-32', () => {
  const head = Uint8Array.from(STORED_OPEN);
  const chunk = syncRaw('{"a":1}');
  const p = { head, tail: bytes(1, 1, 0, 254, 255, 93, 0, 0, 0, 0), adler: adler('[{"a":1}'), eventCount: 1 };
  const body = unloadBody(p, [chunk], ',{"b":2}');
  const expected = Buffer.concat([
    head, chunk, Buffer.from([0, 8, 0, 0xf7, 0xff]), Buffer.from(',{"b":2}'), Buffer.from([1, 1, 0, 0xfe, 0xff, 0x5d]),
    zlib.deflateSync(Buffer.from('[{"a":1},{"b":2}]')).subarray(-4),
  ]);
  assert.deepEqual(Buffer.from(body), expected);
});

test('pings every 500 ms while the replay runs; an older worker that never answers one is not replaced', () => {
  const { scope, calls } = started();
  const w = scope.worker;
  assert.equal(w.pings, 1, 'a ping when the replay starts');
  scope.advance(5000);
  assert.equal(w.pings, 11);
  assert.equal(scope.workers.length, 1, 'never answered a ping: not watched');
  assert.deepEqual(calls.errors, []);
  w.emit({ rf: 1, op: 'stopped', reason: 'stop' });
  scope.advance(2000);
  assert.equal(w.pings, 11, 'no ping once the replay has ended');
});

test('no message for 1,000 ms after a ping: a new worker continues the replay, with what the old one had not reported', () => {
  const storage = new FakeStorage();
  const { e, scope, calls } = started({ storage });
  const old = scope.worker;
  old.emit({ rf: 1, op: 'pong' });
  old.emit({ rf: 1, op: 'session', value: 'stored-1' });
  const [a, b, c] = [ev(1), ev(2), ev(3)];
  e.add([a]);
  scope.advance(250);
  old.emit(partials(0, [texts([a])], { seq: [1] })[0]);
  e.add([b]);
  scope.advance(250); // batch 2, never reported; the answer to the ping at 500 never comes
  old.emit({ rf: 1, op: 'segment', replayId: RID, segmentId: 0, replayType: 'session', start: 1, end: 2, eventCount: 1, kind: 'plain', body: bytes(1) });
  assert.equal(calls.segments.length, 1);
  // Alive at 500 (it posted), silent from then on: the pings at 1000 and 1500 go unanswered.
  scope.advance(1000);
  assert.equal(scope.workers.length, 1, 'one unanswered ping is not enough');
  scope.advance(500);
  assert.equal(scope.workers.length, 2, 'replaced 1,000 ms after an unanswered ping');
  assert.equal(old.terminated, true);
  assert.deepEqual(calls.errors.map((x) => x.message), ['ringflate: the worker stopped answering and was replaced']);
  const w = scope.worker;
  assert.equal(w.url, '/w.js', 'from the same URL');
  e.add([c]); // while the new one starts: held
  assert.deepEqual(w.posted, [], 'nothing before the new worker is ready');
  w.init({ version: VERSION });
  assert.deepEqual(w.posted, [{ rf: 1, op: 'start', config, session: 'stored-1', url: 'https://app.test/page' }], 'start with the stored session value');
  w.emit({ rf: 1, op: 'started', replayId: RID, mode: 'session', draws: [], segmentId: 1 });
  const events = w.posted.filter((m) => m.op === 'events');
  assert.deepEqual(events.map((m) => JSON.parse(m.json)), [[b], [c]], 'the batch it had not reported, then the held one');
  assert.deepEqual(events.map((m) => m.seq), [3, 4], 'numbered on');
  // The new worker hands over what the old one kept unsent: once per segment.
  w.emit({ rf: 1, op: 'segment', replayId: RID, segmentId: 0, replayType: 'session', start: 1, end: 2, eventCount: 1, kind: 'plain', body: bytes(1) });
  w.emit({ rf: 1, op: 'segment', replayId: RID, segmentId: 1, replayType: 'session', start: 1, end: 2, eventCount: 1, kind: 'plain', body: bytes(2) });
  assert.deepEqual(calls.segments.map((s) => s.segmentId), [0, 1]);
  assert.equal(calls.started.length, 2);
  assert.equal(calls.checkouts, 1, 'a checkout once the new worker started (only the host knows it was replaced)');
  // The new one is watched too, and reported once per cause.
  w.emit({ rf: 1, op: 'pong' });
  scope.advance(2000);
  assert.equal(scope.workers.length, 3);
  assert.equal(calls.errors.length, 1);
});

test('a worker that keeps answering is never replaced', () => {
  const { scope } = started();
  const w = scope.worker;
  for (let i = 0; i < 20; i++) {
    w.emit({ rf: 1, op: 'pong' });
    scope.advance(500);
  }
  assert.equal(scope.workers.length, 1);
});

test('sent is posted for a segment; forget ends the replay, tells the worker and removes the stored value', () => {
  const storage = new FakeStorage({ ringflateSession: 'v' });
  const { e, scope } = started({ storage });
  e.sent({ replayId: RID, segmentId: 3 });
  e.forget();
  assert.deepEqual(scope.worker.posted, [{ rf: 1, op: 'sent', replayId: RID, segmentId: 3 }, { rf: 1, op: 'stop' }, { rf: 1, op: 'forget' }]);
  assert.equal(storage.getItem('ringflateSession'), '', 'the stored value is gone');
  // The worker's answer to the stop still carries a session value: it is not stored again.
  scope.worker.emit({ rf: 1, op: 'session', value: '{"ended":1}' });
  assert.equal(storage.getItem('ringflateSession'), '', 'nothing stored after forget');
  const plain = started();
  plain.e.forget();
  assert.deepEqual(plain.scope.worker.ops(), ['stop', 'forget']);
});

test('after an unload delivery, the next event (back from the back/forward cache) starts a fresh worker, silently', () => {
  const { e, scope, calls, storage } = started();
  const w = scope.worker;
  const a = ev(1);
  e.add([a]);
  scope.advance(250);
  w.emit(partials(0, [texts([a])], { seq: [1] })[0]);
  const u = e.partial();
  e.delivered(u);
  assert.deepEqual(storage.sets.at(-1), ['ringflateSession', 's0']);
  assert.equal(e.partial(), null);
  e.add([ev(2)]);
  assert.equal(scope.workers.length, 2);
  assert.equal(w.terminated, true);
  assert.deepEqual(calls.errors, []);
  scope.worker.init({ version: VERSION });
  assert.equal(scope.worker.posted[0].session, 's0', 'continues after the delivered segment');
  assert.equal(calls.checkouts, 0);
  // The old worker's copy of that segment, handed over by the new one, is not sent again.
  scope.worker.emit({ rf: 1, op: 'started', replayId: RID, mode: 'session', draws: [], segmentId: 1 });
  scope.worker.emit({ rf: 1, op: 'segment', replayId: RID, segmentId: 0, replayType: 'session', start: 1, end: 2, eventCount: 1, kind: 'plain', body: bytes(1) });
  assert.deepEqual(calls.segments, []);
});

test('with onRescue, a silent worker\'s open segment is completed by the core and handed over; the new one goes on after it', () => {
  const rescued = [];
  const { e, scope, calls, storage } = started({ onRescue: (p) => rescued.push(p) });
  const old = scope.worker;
  old.emit({ rf: 1, op: 'pong' });
  const [a, b, c] = [ev(1), ev(2), ev(3)];
  e.add([a]);
  scope.advance(250);
  old.emit(partials(3, [texts([a])], { seq: [1] })[0]);
  e.add([b]);
  scope.advance(250); // batch 2: not reported
  e.add([c]); // pending
  scope.advance(1500);
  assert.equal(scope.workers.length, 2);
  assert.equal(calls.errors.length, 1);
  assert.equal(rescued.length, 1);
  assert.equal(rescued[0].segmentId, 3);
  assert.equal(zlib.inflateSync(Buffer.from(rescued[0].body)).toString(), JSON.stringify([a, b, c]), 'every event of the open segment, once');
  assert.deepEqual(storage.sets.at(-1), ['ringflateSession', 's3'], 'the new worker continues after it');
  const w = scope.worker;
  w.init({ version: VERSION });
  assert.equal(w.posted[0].session, 's3');
  w.emit({ rf: 1, op: 'started', replayId: RID, mode: 'session', draws: [], segmentId: 4 });
  assert.deepEqual(w.posted.filter((m) => m.op === 'events'), [], 'nothing posted twice');
  // The new worker hands over its stored copy of segment 3: not passed on again.
  w.emit({ rf: 1, op: 'segment', replayId: RID, segmentId: 3, replayType: 'session', start: 1, end: 2, eventCount: 1, kind: 'plain', body: bytes(1) });
  assert.deepEqual(calls.segments, []);
  const d = ev(4);
  e.add([d]);
  scope.advance(250);
  assert.deepEqual(JSON.parse(w.posted.find((m) => m.op === 'events').json), [d]);
});

test('a trap: the trapped instance\'s open segment is completed up to its last batch; later batches stay the new instance\'s', () => {
  const rescued = [];
  const { e, scope, calls } = started({ onRescue: (p) => rescued.push(p) });
  const w = scope.worker;
  const [a, b, c, d] = [ev(1), ev(2), ev(3), ev(4)];
  e.add([a]);
  scope.advance(250); // seq 1
  w.emit(partials(2, [texts([a])], { seq: [1] })[0]);
  e.add([b]);
  scope.advance(250); // seq 2: received by the trapped instance, not reported
  e.add([c]);
  scope.advance(250); // seq 3: posted after the trap, the new instance's
  e.add([d]); // pending
  w.emit({ rf: 1, op: 'rejected', of: 'debug', code: 'internal', message: 'ringflate: internal error: unreachable', seq: 2 });
  assert.equal(scope.workers.length, 1, 'the same worker: it made a new instance itself');
  assert.equal(calls.errors.length, 1);
  assert.equal(rescued.length, 1);
  assert.equal(rescued[0].segmentId, 2);
  assert.equal(zlib.inflateSync(Buffer.from(rescued[0].body)).toString(), JSON.stringify([a, b]), 'the trapped segment: its partial and the batch after it, once');
  // The pending batch went to the new instance; its partial of the next segment reports batches 3 and 4.
  const posted = w.posted.filter((m) => m.op === 'events');
  assert.deepEqual(posted.map((m) => m.seq), [1, 2, 3, 4]);
  assert.deepEqual(JSON.parse(posted[3].json), [d]);
  w.emit(partials(3, [texts([c, d])], { seq: [4] })[0]);
  const p = e.partial();
  assert.equal(zlib.inflateSync(Buffer.from(p.body)).toString(), JSON.stringify([c, d]), 'the next segment holds the rest, once');
});

test('a trap before any partial of the open segment: its batches are posted again, in order, to the new instance', () => {
  const rescued = [];
  const { e, scope } = started({ onRescue: (p) => rescued.push(p) });
  const w = scope.worker;
  const [a, b, c] = [ev(1), ev(2), ev(3)];
  e.add([a]);
  scope.advance(250); // seq 1
  e.add([b]);
  scope.advance(250); // seq 2
  w.emit({ rf: 1, op: 'rejected', of: 'events', code: 'internal', message: 'ringflate: internal error: unreachable', seq: 1 });
  assert.deepEqual(rescued, [], 'nothing to complete without a partial');
  const posted = w.posted.filter((m) => m.op === 'events');
  assert.deepEqual(posted.map((m) => [m.seq, JSON.parse(m.json)]), [[1, [a]], [2, [b]], [3, [a]]], 'batch 1 again, after batch 2 (already the new instance\'s)');
  e.add([c]);
  scope.advance(250);
  w.emit(partials(0, [texts([b, a, c])], { seq: [4] })[0]);
  assert.equal(zlib.inflateSync(Buffer.from(e.partial().body)).toString(), JSON.stringify([b, a, c]), 'every event once');
  // A rejection that is not a trap changes nothing.
  w.emit({ rf: 1, op: 'rejected', of: 'events', code: 'bad_batch', message: 'ringflate: bad' });
  assert.equal(w.posted.filter((m) => m.op === 'events').length, 4);
});

/** A new page in the same tab: a new engine on the same storage, its worker ready. */
function nextPage(storage) {
  const scope = fakeScope({ storage });
  const calls = { segments: [] };
  const e = createEngine({ workerUrl: '/w.js', config, onSegment: (s) => calls.segments.push(s), onError: () => {} }, scope);
  scope.worker.init({ version: VERSION });
  return { e, scope, calls, w: scope.worker };
}

test('an unload body that was not sent: the next page posts what the worker\'s stored copy lacks, once', () => {
  for (const [persisted, expect] of [[1, [[ev(2), ev(3)], [ev(4)]]], [3, [[ev(4)]]], [4, []]]) {
    const storage = new FakeStorage();
    const { e, scope } = started({ storage });
    e.add([ev(1)]);
    scope.advance(250);
    scope.worker.emit(partials(2, [texts([ev(1)])], { seq: [1] })[0]);
    e.add([ev(2), ev(3)]);
    scope.advance(250); // posted, not reported
    e.add([ev(4)]); // pending
    assert.ok(e.partial(), 'the body exists; the host does not send it (over the keepalive quota)');
    assert.ok(storage.getItem('ringflateSessionTail'), 'what it lacks is kept in the tab');

    const next = nextPage(storage);
    // The worker hands over its stored copy of segment 2, holding `persisted` events, before `started`.
    next.w.emit({ rf: 1, op: 'segment', replayId: RID, segmentId: 2, replayType: 'session', start: 1, end: 2, eventCount: persisted, kind: 'plain', body: bytes(1) });
    next.w.emit({ rf: 1, op: 'started', replayId: RID, mode: 'session', draws: [], segmentId: 3 });
    const posted = next.w.posted.filter((m) => m.op === 'events').map((m) => JSON.parse(m.json));
    assert.deepEqual(posted, expect, `stored copy with ${persisted} events`);
    assert.equal(storage.getItem('ringflateSessionTail'), '', 'used once');
    assert.deepEqual(next.calls.segments.map((s) => s.segmentId), [2]);
  }
});

test('the kept tail is cleared when the body was delivered, when the page lives on, and ignored for another replay', () => {
  const storage = new FakeStorage();
  const { e, scope } = started({ storage });
  e.add([ev(1)]);
  scope.advance(250);
  scope.worker.emit(partials(0, [texts([ev(1)])], { seq: [1] })[0]);
  e.add([ev(2)]);
  e.delivered(e.partial());
  assert.equal(storage.getItem('ringflateSessionTail'), '', 'delivered: nothing kept');

  const b = started({ storage });
  b.e.add([ev(5)]);
  b.e.partial();
  assert.ok(storage.getItem('ringflateSessionTail'));
  b.e.add([ev(6)]); // back from the back/forward cache
  assert.equal(storage.getItem('ringflateSessionTail'), '', 'the page lives on: its worker has everything');

  const c = started({ storage });
  c.e.add([ev(7)]);
  c.e.partial();
  const next = nextPage(storage);
  next.w.emit({ rf: 1, op: 'started', replayId: 'b'.repeat(32), mode: 'session', draws: [], segmentId: 0 });
  assert.deepEqual(next.w.posted.filter((m) => m.op === 'events'), [], 'a new replay does not take another replay\'s events');
});

test('a segment holds, after its last partial, the next batches by their event counts: those are not appended or posted again', () => {
  const { e, scope } = started();
  const w = scope.worker;
  const [a, b, c, d] = [ev(1), ev(2), ev(3), ev(4)];
  e.add([a]);
  scope.advance(250); // batch 1 (1 event)
  e.add([b, c]);
  scope.advance(250); // batch 2 (2 events)
  e.add([d]);
  scope.advance(250); // batch 3 (1 event)
  // No partial reported them (e.g. the segment closed at once after a checkout); segment 0 holds batches 1 and 2.
  w.emit({ rf: 1, op: 'segment', replayId: RID, segmentId: 0, replayType: 'session', start: 1, end: 2, eventCount: 3, kind: 'plain', body: bytes(1) });
  w.emit(partials(1, [[]], { seq: [0] })[0]);
  assert.equal(zlib.inflateSync(Buffer.from(e.partial().body)).toString(), JSON.stringify([d]), 'batch 3 only');

  // After a partial: the segment's events beyond the partial's count are the batches after its seq.
  const t = started();
  t.e.add([a]);
  t.scope.advance(250);
  t.scope.worker.emit(partials(0, [texts([a])], { seq: [1] })[0]);
  t.e.add([b]);
  t.scope.advance(250);
  t.e.add([c]);
  t.scope.advance(250);
  t.scope.worker.emit({ rf: 1, op: 'segment', replayId: RID, segmentId: 0, replayType: 'session', start: 1, end: 2, eventCount: 2, kind: 'plain', body: bytes(1) });
  t.scope.worker.emit(partials(1, [[]], { seq: [1] })[0]);
  assert.equal(zlib.inflateSync(Buffer.from(t.e.partial().body)).toString(), JSON.stringify([c]), 'b went into segment 0, c did not');
});
