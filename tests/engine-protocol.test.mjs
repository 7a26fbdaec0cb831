// The engine protocol (worker/PROTOCOL.md, version 2) at the message level, in a real dedicated worker: the first
// message states the protocol and package versions; every malformed engine message gets a `rejected` reply with a
// code and a text that says what is wrong, nothing of it is applied, and the worker keeps working; the worker tells
// the host where each segment and partial goes; the Sentry-client target and the `trace` op.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer } from './lib/server.mjs';
import { launchBrowser, watchPage } from './lib/browser.mjs';
import { ROOT } from './lib/bundle.mjs';

let srv;
let browser;
let page;
let seen;
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'host-js/package.json'), 'utf8')).version;

before(async () => {
  const workerFile = path.join(ROOT, 'dist/ringflate-worker.js');
  assert.ok(fs.existsSync(workerFile), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  srv = await startServer();
  srv.file('/protocol.html', path.join(ROOT, 'tests/pages/protocol.html'), { 'Content-Security-Policy': "default-src 'self'; script-src 'self'; worker-src 'self'" });
  srv.file('/protocol.js', path.join(ROOT, 'tests/pages/protocol.js'));
  srv.file('/w.js', workerFile);
  // The same file with a CSP that forbids compiling WebAssembly.
  srv.file('/w-refused.js', workerFile, { 'Content-Security-Policy': "script-src 'self'" });
  browser = await launchBrowser();
  page = await browser.newPage();
  seen = watchPage(page);
  await page.goto(`${srv.origin}/protocol.html`);
});

after(async () => {
  await browser?.close();
  await srv?.close();
});

/** Posts `messages` to a fresh worker (all at once, before it is ready) and collects engine replies until `until`
 * replies of the given ops have arrived. The worker's first message is kept as `got.init`. */
async function converse(messages, untilOps, url = '/w.js') {
  const { init, got } = await page.evaluate(
    ([messages, untilOps, url]) =>
      new Promise((resolve, reject) => {
        const w = new Worker(url);
        const got = [];
        let init;
        const timer = setTimeout(() => reject(new Error('timeout; got ' + JSON.stringify(got.map((m) => m.op)))), 30000);
        let started = false;
        w.onmessage = ({ data }) => {
          if (init === undefined) init = { ...data, keys: Object.keys(data) };
          if (data && data.op === 'started') started = true;
          // Segments an earlier worker of this page left unsent are handed over before `started`: not this
          // conversation's (they would be counted, and found, in place of its own).
          if (data && data.op === 'segment' && !started) return;
          if (data && data.rf === 1) {
            const d = { ...data };
            for (const k of ['body', 'chunk', 'head', 'tail']) if (d[k] instanceof Uint8Array) d[k] = Array.from(d[k]);
            got.push(d);
          }
          const left = untilOps.slice();
          for (const m of got) {
            const i = left.indexOf(m.op);
            if (i >= 0) left.splice(i, 1);
          }
          if (!left.length) {
            clearTimeout(timer);
            w.terminate();
            resolve({ init, got });
          }
        };
        for (const m of messages) w.postMessage(m);
      }),
    [messages, untilOps, url],
  );
  got.init = init;
  return got;
}

/** A worker text: starts with "ringflate: " exactly once. */
function assertText(text, what) {
  assert.equal(typeof text, 'string', what);
  assert.ok(text.startsWith('ringflate: '), `${what}: ${text}`);
  assert.equal(text.split('ringflate:').length, 2, `${what}: the prefix once: ${text}`);
}

const config = { sessionSampleRate: 1, errorSampleRate: 0, minReplayDurationMs: 0 };
const events = [
  { type: 4, timestamp: 1700000000000, data: { href: 'http://app.test/', width: 800, height: 600 } },
  { type: 2, timestamp: 1700000000001, data: { node: { type: 0, childNodes: [], id: 1 }, initialOffset: { left: 0, top: 0 } } },
  { type: 3, timestamp: 1700000000500, data: { source: 5, text: 'héllo 🎉 世界', isChecked: false, id: 7 } },
];

test('malformed engine messages are rejected with a reason, nothing is applied, the worker keeps working', async () => {
  const bad = [
    [{ rf: 1 }, /op/, 'unknown_op'],
    [{ rf: 1, op: 'teleport' }, /teleport|unknown/, 'unknown_op'],
    [{ rf: 2, op: 'start', config, session: null }, /version|rf/, 'bad_rf'],
    [{ rf: 1, op: 'events', json: JSON.stringify(events) }, /start/, 'not_started'],
    [{ rf: 1, op: 'start', config: { ...config, sessionSampleRate: 2 }, session: null }, /sessionSampleRate/, 'bad_field'],
    [{ rf: 1, op: 'start', config: { ...config, dsn: 'not a dsn' }, session: null }, /dsn/i, 'bad_field'],
    [{ rf: 1, op: 'start', config: { ...config, sentryClient: true, endpoint: '/r' } }, /sentryClient/, 'bad_field'],
  ];
  const afterStart = [
    [{ rf: 1, op: 'events', json: '[{"type":3,"timestamp":1}' }, /./, 'bad_batch'],
    [{ rf: 1, op: 'events', json: 42 }, /json/, 'bad_field'],
    [{ rf: 1, op: 'events', json: '[{"type":3}]' }, /timestamp/, 'bad_batch'],
    [{ rf: 1, op: 'events', json: '[{"type":3,"timestamp":1,"a":tru}]' }, /JSON value/, 'bad_batch'],
    [{ rf: 1, op: 'events', json: '[{"type":3,"timestamp":1,"a":"\\x"}]' }, /escape/, 'bad_batch'],
    [{ rf: 1, op: 'events', json: '[{"type":3,"timestamp":01}]' }, /./, 'bad_batch'],
    [{ rf: 1, op: 'hidden', hidden: 'yes' }, /hidden/, 'bad_field'],
    [{ rf: 1, op: 'error', sampled: 1 }, /sampled/, 'bad_field'],
    [{ rf: 1, op: 'trace', traceId: 'abc' }, /traceId/, 'bad_field'],
    [{ rf: 1, op: 'start', config, session: null }, /running/, 'already_started'],
  ];
  const messages = [
    ...bad.map(([m]) => m),
    { rf: 1, op: 'start', config, session: null },
    ...afterStart.map(([m]) => m),
    { rf: 1, op: 'events', json: JSON.stringify(events) },
    { rf: 1, op: 'flush' },
  ];
  const got = await converse(messages, [...bad.map(() => 'rejected'), ...afterStart.map(() => 'rejected'), 'segment']);
  const rejected = got.filter((m) => m.op === 'rejected');
  const expected = [...bad, ...afterStart];
  assert.equal(rejected.length, expected.length, `one rejection per malformed message: ${JSON.stringify(rejected)}`);
  rejected.forEach((r, i) => {
    assertText(r.message, `rejection ${i}`);
    assert.match(r.message, expected[i][1], `rejection ${i} says what is wrong: ${r.message}`);
    assert.equal(r.code, expected[i][2], `rejection ${i} code: ${r.message}`);
  });
  assert.equal(got.init.method, 'init');
  assert.equal(got.init.success, true);
  assert.equal(got.init.protocol, 2);
  assert.equal(got.init.version, VERSION);
  const started = got.find((m) => m.op === 'started');
  assert.equal(started.mode, 'session');
  const seg = got.find((m) => m.op === 'segment');
  assert.equal(seg.kind, 'plain');
  const body = Buffer.from(seg.body);
  assert.deepEqual([...body.subarray(0, 2)], [0x78, 0x9c]);
  // Only the good batch is in the recording: the rejected ones changed nothing.
  assert.equal(zlib.inflateSync(body).toString('utf8'), JSON.stringify(events));
  assert.equal(seg.eventCount, events.length);
});

test('plain segments and partials carry the url the worker built; start without session', async () => {
  const endpoint = `${srv.origin}/ingest?tenant=a%20b`;
  const got = await converse(
    [
      { rf: 1, op: 'start', config: { ...config, endpoint } },
      { rf: 1, op: 'events', json: JSON.stringify(events.slice(1)) },
      { rf: 1, op: 'flush' },
    ],
    ['partial', 'segment'],
  );
  const started = got.find((m) => m.op === 'started');
  const seg = got.find((m) => m.op === 'segment');
  const partial = got.find((m) => m.op === 'partial');
  const params = (url) => {
    assert.ok(url.startsWith(endpoint + '&'), url);
    return Object.fromEntries(new URL(url).searchParams);
  };
  const want = {
    tenant: 'a b',
    replayId: started.replayId,
    segmentId: '0',
    replayType: 'session',
    start: String(events[1].timestamp),
    end: String(events[2].timestamp),
    eventCount: '2',
  };
  assert.deepEqual(params(seg.url), want);
  assert.deepEqual(params(partial.url), want);
  assert.equal(zlib.inflateSync(Buffer.from(seg.body)).toString('utf8'), JSON.stringify(events.slice(1)));
  const body = Buffer.concat([partial.head, partial.chunk, partial.tail].map((a) => Buffer.from(a)));
  assert.equal(zlib.inflateSync(body).toString('utf8'), JSON.stringify(events.slice(1)));
});

test('sentryClient: segments are the replay_recording payload with the replay_event; trace ids are reported', async () => {
  const traceA = 'ab'.repeat(16);
  const traceB = 'cd'.repeat(16);
  const got = await converse(
    [
      { rf: 1, op: 'start', config: { ...config, sentryClient: true }, session: null, url: 'http://app.test/start' },
      { rf: 1, op: 'events', json: JSON.stringify(events.slice(1)) },
      { rf: 1, op: 'trace', traceId: traceA },
      { rf: 1, op: 'trace', traceId: traceB },
      { rf: 1, op: 'trace', traceId: traceA },
      { rf: 1, op: 'error', eventId: 'e'.repeat(32), sampled: false },
      { rf: 1, op: 'flush' },
    ],
    ['partial', 'segment'],
  );
  assert.deepEqual(got.filter((m) => m.op === 'rejected'), []);
  const started = got.find((m) => m.op === 'started');
  const partial = got.find((m) => m.op === 'partial');
  const seg = got.find((m) => m.op === 'segment');
  const line = Buffer.from('{"segment_id":0}\n');
  // The partial: head + chunks + tail is the payload as of then.
  assert.equal(partial.url, undefined);
  const p = Buffer.concat([partial.head, partial.chunk, partial.tail].map((a) => Buffer.from(a)));
  assert.ok(p.subarray(0, line.length).equals(line), 'partial payload header line');
  assert.equal(zlib.inflateSync(p.subarray(line.length)).toString('utf8'), JSON.stringify(events.slice(1)));
  assert.equal(JSON.parse(partial.replayEvent).replay_id, started.replayId);
  // The segment.
  assert.equal(seg.kind, 'recording');
  assert.equal('url' in seg, false);
  const body = Buffer.from(seg.body);
  assert.ok(body.subarray(0, line.length).equals(line), 'payload header line');
  assert.deepEqual([...body.subarray(line.length, line.length + 2)], [0x78, 0x9c]);
  assert.equal(zlib.inflateSync(body.subarray(line.length)).toString('utf8'), JSON.stringify(events.slice(1)));
  const ev = JSON.parse(seg.replayEvent);
  assert.deepEqual(Object.keys(ev), ['type', 'replay_id', 'segment_id', 'replay_type', 'replay_start_timestamp',
    'timestamp', 'error_ids', 'trace_ids', 'urls']);
  assert.equal(ev.type, 'replay_event');
  assert.equal(ev.replay_id, started.replayId);
  assert.equal(ev.segment_id, 0);
  assert.equal(ev.replay_type, 'session');
  assert.equal(ev.timestamp, events[2].timestamp / 1000);
  assert.ok(ev.replay_start_timestamp <= ev.timestamp);
  assert.deepEqual(ev.error_ids, ['e'.repeat(32)]);
  assert.deepEqual(ev.trace_ids, [traceA, traceB]);
  assert.deepEqual(ev.urls, ['http://app.test/start']);
});

test('a worker that cannot start WebAssembly says so first, on its console, and answers engine messages unavailable', async () => {
  const before = seen.console.length;
  const got = await converse([{ rf: 1, op: 'start', config }, { rf: 1, op: 'flush' }], ['rejected', 'rejected'], '/w-refused.js');
  assert.equal(got.init.method, 'init');
  assert.equal(got.init.success, false);
  assert.equal(got.init.protocol, 2);
  assert.equal(got.init.version, VERSION);
  assertText(got.init.response, 'init failure');
  assert.match(got.init.response, /'wasm-unsafe-eval'.*script-src/);
  for (const r of got) {
    assert.equal(r.op, 'rejected');
    assert.equal(r.code, 'unavailable');
    assert.equal(r.message, got.init.response);
  }
  assert.deepEqual(got.map((r) => r.of), ['start', 'flush']);
  // One warning with the same reason in the worker's console.
  const deadline = Date.now() + 2000;
  let warned = [];
  while (Date.now() < deadline) {
    warned = seen.console.slice(before).filter((m) => m.text === got.init.response);
    if (warned.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(warned.length, 1, `console:\n${seen.describe()}`);
  assert.equal(warned[0].type, 'warning');
});

// worker/PROTOCOL.md "Modes and sampling", written out from that text alone.
const M64 = (1n << 64n) - 1n;
function mix(z) {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}
function hash(seed, id, k) {
  let h = mix(seed);
  const bytes = Buffer.from(id, 'ascii');
  for (let g = 0; g < bytes.length; g += 8) h = mix(h ^ bytes.readBigUInt64LE(g));
  return mix(h ^ mix((BigInt(k) + seed) & M64));
}
const unit = (h) => Number(h >> 11n) * 2 ** -53;
const S = 0x5eed000000000001n;
const D = 0x5eed000000000002n;
const modeOf = (id, c) => (unit(hash(S, id, 0)) < c.sessionSampleRate ? 'session' : c.errorSampleRate > 0 ? 'buffer' : 'off');
const drawOf = (id, k, c) => unit(hash(D, id, k)) < c.errorSampleRate;

test("every replay's mode and draws are recomputed from its id with PROTOCOL.md's hash", async () => {
  const rates = [
    { sessionSampleRate: 0.5, errorSampleRate: 0.5 },
    { sessionSampleRate: 0.1, errorSampleRate: 0.9 },
    { sessionSampleRate: 0.9, errorSampleRate: 0.1 },
    { sessionSampleRate: 0.3, errorSampleRate: 0 },
    { sessionSampleRate: 0, errorSampleRate: 0.25 },
  ];
  const n = 200;
  const configs = Array.from({ length: n }, (_, i) => rates[i % rates.length]);
  const messages = configs.flatMap((c) => [{ rf: 1, op: 'start', config: c }, { rf: 1, op: 'stop' }]);
  const got = await converse(messages, configs.map(() => 'stopped'));
  const started = got.filter((m) => m.op === 'started');
  assert.equal(started.length, n);
  const modes = { session: 0, buffer: 0, off: 0 };
  started.forEach((m, i) => {
    const c = configs[i];
    assert.match(m.replayId, /^[0-9a-f]{32}$/);
    assert.equal(m.mode, modeOf(m.replayId, c), `replay ${i} (${m.replayId}) mode`);
    modes[m.mode]++;
    const want = m.mode === 'buffer' ? Array.from({ length: m.draws.length }, (_, k) => drawOf(m.replayId, k, c)) : [];
    assert.deepEqual(m.draws, want, `replay ${i} draws`);
    if (m.mode === 'buffer') assert.equal(m.draws.length, 32);
  });
  assert.equal(new Set(started.map((m) => m.replayId)).size, n, 'every replay has its own id');
  for (const [mode, count] of Object.entries(modes)) assert.ok(count > 10, `${mode}: ${count} of ${n}`);
  // The draw index continues: 16 unsampled errors bring draws 32..63.
  const c = { sessionSampleRate: 0, errorSampleRate: 0.5 };
  const more = await converse(
    [{ rf: 1, op: 'start', config: c }, ...Array.from({ length: 16 }, () => ({ rf: 1, op: 'error', sampled: false }))],
    ['draws'],
  );
  const id = more.find((m) => m.op === 'started').replayId;
  const draws = more.find((m) => m.op === 'draws').draws;
  assert.deepEqual(draws, Array.from({ length: 32 }, (_, k) => drawOf(id, 32 + k, c)));
});
