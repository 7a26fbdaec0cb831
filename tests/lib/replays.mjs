// What a test reads from the replay segments a server received (./server.mjs parses and inflates them), and
// the checks every browser engine's tests make on them. Nothing here knows which browser sent the segments.
//
//   const segs = segmentsOf(srv, replayId);         // in arrival order, with receivedAt
//   inputWith(allEvents(segs), 'typed text')        // an Input event (source 5) containing the text
//   incremental(events, 2)                          // MouseInteraction events
//   assertConsecutive(segs); assertCheckout(segs[0], ['page text'])
import assert from 'node:assert/strict';

/** The replay segments of one replay, in arrival order, each with the time the endpoint got it. */
export const segmentsOf = (srv, replayId) =>
  srv.envelopes.filter((e) => e.replay && e.replay.event.replay_id === replayId).map((e) => ({ ...e.replay, receivedAt: e.receivedAt }));
export const allEvents = (segs) => segs.flatMap((s) => s.events);
/** rrweb IncrementalSnapshot events (type 3) of one source (2 MouseInteraction, 5 Input). */
export const incremental = (events, source) => events.filter((e) => e.type === 3 && e.data?.source === source);
export const inputWith = (events, text) => incremental(events, 5).some((e) => typeof e.data.text === 'string' && e.data.text.includes(text));
export const hasInput = (segs, text) => inputWith(allEvents(segs), text);

export function assertConsecutive(segs) {
  assert.deepEqual(segs.map((s) => s.segmentId), segs.map((_, i) => i), 'segment ids are consecutive from 0, in arrival order');
}

/** A checkout: a Meta event, then a FullSnapshot that holds each of `texts`. */
export function assertCheckout(seg, texts) {
  const meta = seg.events.findIndex((e) => e.type === 4);
  const full = seg.events.findIndex((e) => e.type === 2);
  assert.ok(meta >= 0, `segment ${seg.segmentId} has a Meta event (types: ${seg.events.map((e) => e.type).join(',')})`);
  assert.ok(full > meta, `segment ${seg.segmentId} has a FullSnapshot after the Meta`);
  const snapshot = JSON.stringify(seg.events[full]);
  for (const t of texts) assert.ok(snapshot.includes(t), `FullSnapshot contains the page text ${JSON.stringify(t)}`);
}
