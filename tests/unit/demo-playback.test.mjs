// The demo player's conversion of received events for playback (examples/src/playback.js): Sentry's
// performanceSpan events are stamped in seconds, rrweb's events in milliseconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timestampMs, playbackEvents } from '../../examples/src/playback.js';

// 2026-12-01T17:00:00Z
const T = 1796144400000;

// The shape of a Sentry SDK recording: rrweb's Meta and FullSnapshot in ms, the SDK's performanceSpan for the
// page load stamped with its start in seconds (before the Meta in real time), a breadcrumb in ms, then input.
const received = [
  { type: 4, timestamp: T + 500, data: { href: 'http://127.0.0.1:8080/sentry.html', width: 1280, height: 720 } },
  { type: 2, timestamp: T + 510, data: { node: { type: 0, childNodes: [], id: 1 }, initialOffset: { top: 0, left: 0 } } },
  { type: 5, timestamp: (T + 20) / 1000, data: { tag: 'performanceSpan', payload: { op: 'navigation.navigate', description: 'http://127.0.0.1:8080/sentry.html', startTimestamp: (T + 20) / 1000, endTimestamp: (T + 480) / 1000, data: {} } } },
  { type: 5, timestamp: T + 900, data: { tag: 'breadcrumb', payload: { category: 'ui.click', timestamp: (T + 900) / 1000 } } },
  { type: 5, timestamp: (T + 1200) / 1000, data: { tag: 'performanceSpan', payload: { op: 'resource.fetch', startTimestamp: (T + 1200) / 1000, endTimestamp: (T + 1250) / 1000 } } },
  { type: 3, timestamp: T + 1500, data: { source: 5, text: 'Ada', isChecked: false, id: 12 } },
  { type: 3, timestamp: T + 1500, data: { source: 2, type: 2, id: 13, x: 10, y: 20 } },
];

test('timestampMs follows the SDK: above 9999999999 milliseconds, otherwise seconds', () => {
  assert.equal(timestampMs(T), T);
  assert.equal(timestampMs(T / 1000), T);
  assert.equal(timestampMs(1796144400.4226), 1796144400422.6);
  assert.equal(timestampMs(10000000000), 10000000000, 'the first value read as milliseconds');
  assert.equal(timestampMs(9999999999), 9999999999000, 'the last value read as seconds');
});

test('playbackEvents: every timestamp in ms, in time order, the seconds-stamped spans where they happened', () => {
  const before = structuredClone(received);
  const out = playbackEvents(received);
  assert.deepEqual(received, before, 'the events received are not changed');
  assert.equal(out.length, received.length);
  for (const e of out) assert.ok(e.timestamp > 9999999999, `timestamp ${e.timestamp} is in ms`);
  assert.deepEqual(out.map((e) => e.timestamp), out.map((e) => e.timestamp).slice().sort((a, b) => a - b), 'sorted by time');
  const kinds = out.map((e) => (e.type === 5 ? `${e.data.tag}:${e.data.payload.op ?? e.data.payload.category}` : e.type));
  assert.deepEqual(kinds, ['performanceSpan:navigation.navigate', 4, 2, 'breadcrumb:ui.click', 'performanceSpan:resource.fetch', 3, 3]);
  assert.equal(out[0].timestamp, T + 20, 'the page-load span converted to ms');
  assert.equal(out[4].timestamp, T + 1200);
  assert.equal(out[0].data.payload.startTimestamp, (T + 20) / 1000, 'only the event timestamp is converted, the payload is as sent');
  assert.deepEqual([out[5].data.source, out[6].data.source], [5, 2], 'events stamped alike keep their recorded order');
  // What playback starts from: the player's clock spans the recording, not the decades between 1970 s and ms.
  assert.ok(out[out.length - 1].timestamp - out[0].timestamp < 2000, 'the recording spans under two seconds');
});

test('playbackEvents: a recording without seconds-stamped events is only sorted, and the same objects are kept', () => {
  const rrwebOnly = [received[0], received[1], received[5]];
  const out = playbackEvents(rrwebOnly);
  assert.deepEqual(out, rrwebOnly);
  out.forEach((e, i) => assert.equal(e, rrwebOnly[i]));
});
