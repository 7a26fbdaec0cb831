// The paced main-thread benchmark's page (bench/mainthread.mjs bundles it with esbuild).
//
// It replays one corpus file at its recorded pace — each event is handed to the host at
// (event timestamp − first timestamp) / speed after the start — through one host, as that
// host really runs in a page:
// - 'none':     the feed alone (events are dropped): the harness's own cost, subtracted as the baseline;
// - 'sentry':   Sentry's replay host with its compression worker (fflate, or ringflate as the drop-in);
//               see SentryHost below;
// - 'engine':   ringflate's host-js (`startReplay`), posting batches, sending what the worker hands back;
// - 'ringflate-sentry': the real @sentry/browser client with `ringflateReplay` (ringflate/sentry); its recorder
//               is replaced by feed-recorder.js, which emits the corpus events into the integration.
// Every host sends Sentry envelopes to the local ingest, which parses them strictly; bench/mainthread.mjs
// checks that the events received are exactly the corpus, in order, once.
import { startReplay } from '../../host-js/src/index.js';
import * as Sentry from '@sentry/browser';
import { ringflateReplay } from '../../host-js/src/sentry.js';
import { feed as recorderFeed } from './feed-recorder.js';

const corpus = { events: null, lines: null };
// The feed's own timer, taken before any host starts: Sentry.init (the ringflate-sentry host) wraps the page's
// setTimeout (its browserApiErrors integration), which would make the feed itself, the baseline, cost more there.
const feedTimer = setTimeout.bind(globalThis);

async function loadCorpus(id) {
  const res = await fetch(`/corpus/${id}.ndjson`);
  if (!res.ok) throw new Error(`corpus ${id}: HTTP ${res.status}`);
  corpus.lines = (await res.text()).split('\n').filter(Boolean);
  corpus.events = corpus.lines.map((l) => JSON.parse(l));
  return { id, events: corpus.events.length };
}

// ------------------------------------------------------------------------------------------------
// Sentry's host, as @sentry/replay 11.12 runs it (node_modules/@sentry/replay/build/npm/esm/index.js):
// - WorkerHandler.postMessage: one {id, method, arg} message per call, a pending Map keyed by id and
//   one 'message' listener that resolves it;
// - EventBufferCompressionWorker.addEvent: JSON.stringify(event), a size check, then postMessage
//   ('addEvent'); _addEvent wraps it in an async function (awaited, errors caught);
// - after each event the flush is debounced: 5,000 ms after the last event, at most 5,500 ms after
//   the first (the SDK's `debounce` clears and re-arms a timer per call); after a checkout (a full
//   snapshot) it flushes at once (getHandleRecordingEmit);
// - flush: postMessage('finish'), then the envelope (createReplayEnvelope + serializeEnvelope: JSON
//   header lines and the compressed bytes concatenated into one Uint8Array) goes out with fetch.
// Only what runs on the page is reproduced; rrweb's own recording cost is the same for every host and
// is not part of this feed.
// ------------------------------------------------------------------------------------------------
class SentryHost {
  constructor(worker, { dsnUrl, replayId }) {
    this.worker = worker;
    this.id = 0;
    this.pending = new Map();
    this.worker.addEventListener('message', ({ data }) => {
      if (typeof data.id !== 'number') return;
      const p = this.pending.get(data.id);
      if (!p || p.method !== data.method) return;
      this.pending.delete(data.id);
      if (data.success) p.resolve(data.response);
      else p.reject(new Error('Error in compression worker'));
    });
    this.url = dsnUrl;
    this.replayId = replayId;
    this.segmentId = 0;
    this.earliest = null;
    this.totalSize = 0;
    this.timer = undefined;
    this.maxTimer = undefined;
    this.sends = [];
    this.errors = [];
    this.last = Promise.resolve();
  }

  post(method, arg) {
    const id = this.id++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.worker.postMessage({ id, method, arg });
    });
  }

  async addEvent(event) {
    try {
      if (!this.earliest || event.timestamp < this.earliest) this.earliest = event.timestamp;
      const data = JSON.stringify(event);
      this.totalSize += data.length;
      return await this.post('addEvent', data);
    } catch (e) {
      this.errors.push(String(e));
      return null;
    }
  }

  /** rrweb's emit callback: add the event, then debounce the flush; a checkout (a full snapshot) flushes now. */
  emit(event) {
    this.addEvent(event);
    // Session mode flushes after every checkout (getHandleRecordingEmit: `replay.flush()` once the checkout is
    // added); the replay is never too short here (minReplayDuration 0, as the other hosts are run).
    if (event.type === 2) {
      this.flush();
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), 5000);
    if (this.maxTimer === undefined) this.maxTimer = setTimeout(() => this.flush(), 5500);
  }

  flush() {
    clearTimeout(this.timer);
    clearTimeout(this.maxTimer);
    this.timer = this.maxTimer = undefined;
    if (!this.earliest) return Promise.resolve();
    const start = this.earliest;
    this.earliest = null;
    this.totalSize = 0;
    const segmentId = this.segmentId++;
    const ready = this.post('finish').then((bytes) => {
      const now = Date.now();
      const replayEvent = {
        type: 'replay_event', replay_start_timestamp: start / 1000, timestamp: now / 1000, error_ids: [],
        trace_ids: [], urls: [], replay_id: this.replayId, segment_id: segmentId, replay_type: 'session',
        event_id: this.replayId, platform: 'javascript', sdk: { name: 'sentry.javascript.browser', version: '11.12.0' },
      };
      const enc = new TextEncoder();
      const head = enc.encode(
        `${JSON.stringify({ event_id: this.replayId, sent_at: new Date(now).toISOString(), sdk: replayEvent.sdk })}\n` +
        `${JSON.stringify({ type: 'replay_event' })}\n${JSON.stringify(replayEvent)}\n`);
      const recHead = enc.encode(`${JSON.stringify({ segment_id: segmentId })}\n`);
      const itemHead = enc.encode(`${JSON.stringify({ type: 'replay_recording', length: recHead.length + bytes.length })}\n`);
      const body = new Uint8Array(head.length + itemHead.length + recHead.length + bytes.length);
      body.set(head, 0);
      body.set(itemHead, head.length);
      body.set(recHead, head.length + itemHead.length);
      body.set(bytes, head.length + itemHead.length + recHead.length);
      return body;
    });
    // One send at a time, as Sentry's replay flushes one segment at a time (its flush lock). Without keepalive:
    // with the flushes after checkouts, Chromium refused keepalive requests here even one at a time under 60,000
    // bytes (Failed to fetch); the page lives on, so keepalive changes nothing measured.
    const sent = (this.last = Promise.all([ready, this.last]).then(([body]) => fetch(this.url, { method: 'POST', body })));
    this.sends.push(sent);
    return sent;
  }
}

function startWorker(url) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url);
    worker.onerror = (e) => reject(new Error(`worker error: ${e.message}`));
    worker.addEventListener('message', (e) => {
      if (e.data && e.data.method === 'init') {
        if (e.data.success) resolve(worker);
        else reject(new Error(`worker not ready: ${e.data.response}`));
      }
    }, { once: true });
  });
}

const hex32 = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

let current = null;

/** Starts a host; resolves when it is ready to take events. */
async function prepare({ host, workerUrl, dsn, envelopeUrl }) {
  if (host === 'none') {
    current = { emit: () => {}, done: async () => {} };
  } else if (host === 'sentry') {
    const worker = await startWorker(workerUrl);
    const h = new SentryHost(worker, { dsnUrl: envelopeUrl, replayId: hex32() });
    current = {
      emit: (e) => h.emit(e),
      done: async () => {
        await h.flush();
        await Promise.all(h.sends);
        worker.terminate();
        if (h.errors.length) throw new Error(h.errors.slice(0, 3).join('; '));
      },
    };
  } else if (host === 'engine') {
    const errors = [];
    let segments = 0;
    const replay = startReplay({
      workerUrl, dsn, sessionSampleRate: 1, errorSampleRate: 0, minReplayDurationMs: 0, record: false,
      onError: (e) => errors.push(String(e)), onSegment: () => segments++,
    });
    const { mode } = await replay.ready;
    if (mode !== 'session') throw new Error(`engine started in mode ${mode}`);
    current = {
      emit: (e) => replay.addEvents([e]),
      done: async () => {
        replay.flush();
        // The host sends segments as the worker hands them over; wait until the flush has produced them.
        const before = segments;
        for (let k = 0; k < 600 && segments === before; k++) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 300));
        if (errors.length) throw new Error(errors.slice(0, 3).join('; '));
      },
    };
  } else if (host === 'ringflate-sentry') {
    const integration = ringflateReplay({ workerUrl, minReplayDuration: 0 });
    Sentry.init({ dsn, replaysSessionSampleRate: 1, replaysOnErrorSampleRate: 0, integrations: [integration] });
    for (let k = 0; k < 400 && !recorderFeed.emit; k++) await new Promise((r) => setTimeout(r, 25));
    if (!recorderFeed.emit) throw new Error('ringflate/sentry did not start recording');
    current = {
      emit: (e) => recorderFeed.emit(e),
      done: async () => {
        integration.flush();
        await new Promise((r) => setTimeout(r, 1000));
      },
    };
  } else {
    throw new Error(`unknown host ${host}`);
  }
  return true;
}

/** Feeds the loaded corpus at its recorded pace, `speed` times faster (`speed: 0`: every event in one
 * task, the stress pass). Resolves when every event was handed over; `finish()` then flushes and waits
 * for the sends. */
function feed({ speed }) {
  const events = corpus.events;
  const t0 = events[0].timestamp;
  const start = performance.now();
  let i = 0;
  let lateMs = 0;
  return new Promise((resolve) => {
    const step = () => {
      const now = performance.now() - start;
      while (i < events.length && (speed === 0 || (events[i].timestamp - t0) / speed <= now)) {
        if (speed) lateMs = Math.max(lateMs, now - (events[i].timestamp - t0) / speed);
        current.emit(events[i++]);
      }
      if (i >= events.length) {
        resolve({ events: events.length, wallMs: performance.now() - start, maxLateMs: lateMs });
        return;
      }
      feedTimer(step, Math.max(0, (events[i].timestamp - t0) / speed - (performance.now() - start)));
    };
    step();
  });
}

async function finish() {
  await current.done();
  current = null;
  return true;
}

window.paced = { loadCorpus, prepare, feed, finish, ready: true };
