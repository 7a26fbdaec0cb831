// The strict envelope parser (tests/lib/envelope.mjs) that the browser tests rely on: it accepts a well-formed
// replay envelope and rejects each way one can be wrong, so "no parse failures" in the other tests means
// something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { parseEnvelope, EnvelopeError } from './lib/envelope.mjs';

const ID = '0123456789abcdef0123456789abcdef';
const EVENTS = [
  { type: 4, timestamp: 1700000000000, data: { href: 'http://x/', width: 1, height: 1 } },
  { type: 2, timestamp: 1700000000001, data: { node: { type: 0, childNodes: [], id: 1 }, initialOffset: { top: 0, left: 0 } } },
  { type: 3, timestamp: 1700000000002, data: { source: 5, text: 'é 中 😀', id: 3 } },
];

function replayEvent(over = {}) {
  return {
    type: 'replay_event', replay_id: ID, segment_id: 0, replay_type: 'session',
    replay_start_timestamp: 1700000000.0, timestamp: 1700000000.5,
    error_ids: [], trace_ids: [], urls: ['http://x/'], ...over,
  };
}

/** Builds an envelope; `mutate` may change any part before it is joined. */
function envelope({ body, header = { event_id: ID, sent_at: new Date(1700000000000).toISOString() }, event = replayEvent(),
  segmentLine = JSON.stringify({ segment_id: event.segment_id }), lengthDelta = 0 } = {}) {
  const b = body ?? zlib.deflateSync(JSON.stringify(EVENTS));
  const payload = Buffer.concat([Buffer.from(`${segmentLine}\n`), b]);
  return Buffer.concat([
    Buffer.from(`${JSON.stringify(header)}\n{"type":"replay_event"}\n${JSON.stringify(event)}\n`),
    Buffer.from(`${JSON.stringify({ type: 'replay_recording', length: payload.length + lengthDelta })}\n`),
    payload,
  ]);
}

test('a well-formed compressed replay envelope parses to its events', () => {
  const env = parseEnvelope(envelope(), { expectCompressed: true });
  assert.equal(env.replay.segmentId, 0);
  assert.equal(env.replay.compressed, true);
  assert.deepEqual(env.replay.events, EVENTS);
});

test('an uncompressed body parses when allowed, and is refused when compression is expected', () => {
  const env = parseEnvelope(envelope({ body: Buffer.from(JSON.stringify(EVENTS)) }));
  assert.equal(env.replay.compressed, false);
  assert.deepEqual(env.replay.events, EVENTS);
  assert.throws(() => parseEnvelope(envelope({ body: Buffer.from(JSON.stringify(EVENTS)) }), { expectCompressed: true }), /not compressed/);
});

test('each kind of malformed envelope is rejected with a reason', () => {
  const good = zlib.deflateSync(JSON.stringify(EVENTS));
  const cases = [
    [{ body: Buffer.concat([good, Buffer.from([0])]) }, /after the Adler-32/],
    [{ body: good.subarray(0, good.length - 1) }, /does not inflate/],
    [{ body: Buffer.concat([Buffer.from([0x78, 0x01]), good.subarray(2)]) }, /78 9C/],
    [{ body: (() => { const b = Buffer.from(good); b[b.length - 1] ^= 1; return b; })() }, /does not inflate/],
    [{ body: zlib.deflateSync('{"not":"an array"}') }, /not a JSON array/],
    [{ body: zlib.deflateSync('[{"type":2}]') }, /numeric timestamp/],
    [{ lengthDelta: -1 }, /not a newline|length/],
    [{ lengthDelta: 5 }, /bytes left/],
    [{ segmentLine: '{"segment_id":1}' }, /header line/],
    [{ event: replayEvent({ replay_id: 'f'.repeat(32) }) }, /!= envelope event_id/],
    [{ event: replayEvent({ segment_id: 70000 }) }, /0\.\.65535/],
    [{ event: replayEvent({ replay_type: 'other' }) }, /replay_type/],
    [{ event: replayEvent({ timestamp: 1700000000500 }) }, /seconds/],
    [{ event: replayEvent({ error_ids: new Array(101).fill(ID) }) }, /error_ids/],
    [{ header: { sent_at: new Date().toISOString() } }, /event_id/],
    [{ header: { event_id: ID, sent_at: 'yesterday' } }, /sent_at/],
  ];
  for (const [opts, re] of cases) {
    assert.throws(() => parseEnvelope(envelope(opts), { expectCompressed: true }), (e) => e instanceof EnvelopeError && re.test(e.message),
      `expected a rejection matching ${re} for ${JSON.stringify(opts, (k, v) => (v?.type === 'Buffer' ? `<${v.data.length} bytes>` : v))}`);
  }
});
