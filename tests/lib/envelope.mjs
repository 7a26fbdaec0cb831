// Strict parser for Sentry envelopes, following docs/envelopes.md (the rules it enforces are listed there).
//
//   parseEnvelope(body: Buffer, { expectCompressed }) → {
//     header,                       // envelope header (event_id, sent_at, …)
//     items: [{ header, payload }], // payload: Buffer
//     replay: null | {              // present when the envelope carries a replay
//       event,                      // the replay_event JSON
//       segmentId, replayType,
//       compressed,                 // true: body was zlib (78 9C), false: plain JSON array
//       text,                       // the recording body as text (inflated when compressed)
//       events,                     // parsed rrweb events
//     },
//   }
//
// Anything that does not match the format throws an EnvelopeError whose message says what and where.
// `expectCompressed`: true → the recording body must be zlib; false → must be a plain JSON array;
// undefined → either is accepted (the result says which).
import zlib from 'node:zlib';

export class EnvelopeError extends Error {}

function fail(msg) {
  throw new EnvelopeError(msg);
}

const HEX32 = /^[0-9a-f]{32}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(buf, what) {
  let text;
  try {
    text = utf8.decode(buf);
  } catch {
    fail(`${what}: not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(`${what}: not JSON (${e.message}): ${JSON.stringify(text.slice(0, 120))}`);
  }
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Splits an envelope into its header and items, checking the framing. */
export function splitEnvelope(body) {
  if (!Buffer.isBuffer(body)) body = Buffer.from(body);
  let pos = body.indexOf(0x0a);
  if (pos < 0) fail('envelope: no newline after the header');
  const header = parseJson(body.subarray(0, pos), 'envelope header');
  if (!isObject(header)) fail('envelope header: not an object');
  pos += 1;
  const items = [];
  while (pos < body.length) {
    const nl = body.indexOf(0x0a, pos);
    if (nl < 0) fail(`item ${items.length}: header has no newline after it`);
    const itemHeader = parseJson(body.subarray(pos, nl), `item ${items.length} header`);
    if (!isObject(itemHeader) || typeof itemHeader.type !== 'string') {
      fail(`item ${items.length} header: needs a string "type"`);
    }
    pos = nl + 1;
    let payload;
    if (itemHeader.length !== undefined) {
      const len = itemHeader.length;
      if (!Number.isInteger(len) || len < 0) fail(`item ${items.length}: bad length ${len}`);
      if (pos + len > body.length) {
        fail(`item ${items.length} (${itemHeader.type}): length ${len} but only ${body.length - pos} bytes left`);
      }
      payload = body.subarray(pos, pos + len);
      pos += len;
      if (pos < body.length) {
        if (body[pos] !== 0x0a) {
          fail(`item ${items.length} (${itemHeader.type}): ${len} bytes are followed by 0x${body[pos].toString(16)}, not a newline (length is wrong)`);
        }
        pos += 1;
      }
    } else {
      let end = body.indexOf(0x0a, pos);
      if (end < 0) end = body.length;
      payload = body.subarray(pos, end);
      pos = end + 1;
    }
    items.push({ header: itemHeader, payload });
  }
  return { header, items };
}

/**
 * Inflates a zlib body strictly: header 78 9C, complete stream, valid Adler-32, nothing after the trailer.
 * Returns the inflated bytes.
 */
export function inflateStrict(buf, what = 'zlib body') {
  if (buf.length < 2 || buf[0] !== 0x78 || buf[1] !== 0x9c) {
    fail(`${what}: must start with 78 9C, starts with ${buf.subarray(0, 2).toString('hex') || '(empty)'}`);
  }
  let res;
  try {
    res = zlib.inflateSync(buf, { info: true, maxOutputLength: 200 * 1024 * 1024 });
  } catch (e) {
    fail(`${what}: does not inflate (${e.message})`);
  }
  const used = res.engine.bytesWritten;
  if (used !== buf.length) fail(`${what}: ${buf.length - used} byte(s) after the Adler-32 trailer`);
  return res.buffer;
}

function checkRrwebEvents(events, what) {
  if (!Array.isArray(events)) fail(`${what}: not a JSON array`);
  events.forEach((ev, i) => {
    if (!isObject(ev)) fail(`${what}: event ${i} is not an object`);
    if (typeof ev.type !== 'number') fail(`${what}: event ${i} has no numeric type`);
    if (typeof ev.timestamp !== 'number') fail(`${what}: event ${i} (type ${ev.type}) has no numeric timestamp`);
  });
}

function checkReplayEvent(ev, envHeader) {
  if (!isObject(ev)) fail('replay_event: not an object');
  if (ev.type !== 'replay_event') fail(`replay_event: type is ${JSON.stringify(ev.type)}`);
  if (typeof ev.replay_id !== 'string' || !HEX32.test(ev.replay_id)) fail(`replay_event: replay_id ${JSON.stringify(ev.replay_id)} is not 32 hex chars`);
  if (ev.replay_id !== envHeader.event_id) fail(`replay_event: replay_id ${ev.replay_id} != envelope event_id ${envHeader.event_id}`);
  if (!Number.isInteger(ev.segment_id) || ev.segment_id < 0 || ev.segment_id > 65535) fail(`replay_event: segment_id ${ev.segment_id} is not an integer in 0..65535`);
  if (ev.replay_type !== 'session' && ev.replay_type !== 'buffer') fail(`replay_event: replay_type ${JSON.stringify(ev.replay_type)}`);
  for (const k of ['replay_start_timestamp', 'timestamp']) {
    const v = ev[k];
    // Seconds, not milliseconds: anything after year 2001 and before 2286 in seconds.
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 1e9 || v > 1e10) fail(`replay_event: ${k} ${v} is not a time in seconds`);
  }
  if (!Array.isArray(ev.error_ids) || ev.error_ids.length > 100) fail('replay_event: error_ids must be an array of at most 100');
  if (!Array.isArray(ev.trace_ids)) fail('replay_event: trace_ids must be an array');
  if (!Array.isArray(ev.urls)) fail('replay_event: urls must be an array');
}

function parseRecording(payload, segmentId, expectCompressed) {
  const nl = payload.indexOf(0x0a);
  if (nl < 0) fail('replay_recording: no header line');
  const headerText = payload.subarray(0, nl).toString('utf8');
  const want = JSON.stringify({ segment_id: segmentId });
  if (headerText !== want) fail(`replay_recording: header line ${JSON.stringify(headerText)}, expected ${JSON.stringify(want)}`);
  const body = payload.subarray(nl + 1);
  if (body.length >= 2 && body[0] === 0x78 && body[1] !== 0x9c) {
    fail(`replay_recording: zlib header 78 ${body.subarray(1, 2).toString('hex').toUpperCase()}, must be 78 9C (Sentry's own check looks for exactly those bytes)`);
  }
  const compressed = body.length >= 2 && body[0] === 0x78 && body[1] === 0x9c;
  if (expectCompressed === true && !compressed) {
    fail(`replay_recording: body is not compressed (starts with ${JSON.stringify(body.subarray(0, 16).toString('latin1'))})`);
  }
  if (expectCompressed === false && compressed) fail('replay_recording: body is compressed but a plain JSON array was expected');
  let text;
  if (compressed) {
    const raw = inflateStrict(body, 'replay_recording body');
    try {
      text = utf8.decode(raw);
    } catch {
      fail('replay_recording: inflated body is not valid UTF-8');
    }
  } else {
    if (body[0] !== 0x5b) fail(`replay_recording: body is neither zlib (78 9C) nor a JSON array (starts with ${body.subarray(0, 2).toString('hex')})`);
    text = utf8.decode(body);
  }
  let events;
  try {
    events = JSON.parse(text);
  } catch (e) {
    fail(`replay_recording: body is not JSON (${e.message})`);
  }
  checkRrwebEvents(events, 'replay_recording');
  return { compressed, text, events };
}

export function parseEnvelope(body, { expectCompressed } = {}) {
  const { header, items } = splitEnvelope(body);
  // Envelopes that carry an event (a replay, an error) are named by it; session updates are not.
  const hasEvent = items.some((i) => ['replay_event', 'event', 'transaction'].includes(i.header.type));
  if ((hasEvent || header.event_id !== undefined) && (typeof header.event_id !== 'string' || !HEX32.test(header.event_id))) {
    fail(`envelope header: event_id ${JSON.stringify(header.event_id)} is not 32 hex chars`);
  }
  if (typeof header.sent_at !== 'string' || Number.isNaN(Date.parse(header.sent_at))) {
    fail(`envelope header: sent_at ${JSON.stringify(header.sent_at)} is not an ISO date`);
  }
  const evItems = items.filter((i) => i.header.type === 'replay_event');
  const recItems = items.filter((i) => i.header.type === 'replay_recording');
  let replay = null;
  if (evItems.length || recItems.length) {
    if (evItems.length !== 1 || recItems.length !== 1) {
      fail(`replay envelope needs one replay_event and one replay_recording, has ${evItems.length} and ${recItems.length}`);
    }
    if (recItems[0].header.length === undefined) fail('replay_recording: item header has no length');
    const event = parseJson(evItems[0].payload, 'replay_event');
    checkReplayEvent(event, header);
    const rec = parseRecording(recItems[0].payload, event.segment_id, expectCompressed);
    replay = { event, segmentId: event.segment_id, replayType: event.replay_type, ...rec };
  }
  return { header, items, replay };
}
