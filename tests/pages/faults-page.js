// Fault and load test page: real rrweb and the ringflate host script (startReplay). It keeps the text of every
// event it handed to the host (window.__faults.recorded), watches the messages between the host and the worker
// (how many `events` batches the worker has not reported back in a partial yet), and records long tasks.
// Query: worker, dsn, big (KB of random text in the page, for a large full snapshot), minMs (default 0), buffer
// (buffer mode instead of a session).
import * as rrweb from 'rrweb';
import { startReplay } from '../../host-js/src/index.js';

const q = new URLSearchParams(location.search);
const state = (window.__faults = { recorded: [], errors: [], errorTimes: [], longTasks: [], maxBehind: 0, maxBehindBytes: 0, posted: 0, reported: 0 });

if (q.has('big')) {
  // Random letters and digits compress to about 5.2 bits a character: a large full snapshot.
  const n = Number(q.get('big')) * 1024;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  let text = '';
  for (let i = 0; i < n; i++) text += alphabet[bytes[i] % 36];
  document.getElementById('big').textContent = text;
}

try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) state.longTasks.push(Math.round(e.duration));
  }).observe({ entryTypes: ['longtask'] });
} catch {
  state.longTasks = null;
}

// The worker's backlog as the page sees it: batches posted minus batches a partial (or segment) has covered.
const NativeWorker = window.Worker;
const sizes = new Map();
window.Worker = class extends NativeWorker {
  postMessage(m, t) {
    if (m && m.op === 'events') {
      state.posted = m.seq;
      sizes.set(m.seq, m.json.length);
      track();
    }
    return super.postMessage(m, t);
  }
  set onmessage(fn) {
    super.onmessage = (e) => {
      const d = e.data;
      if (d && d.op === 'partial') {
        state.reported = d.seq;
        for (const k of sizes.keys()) if (k <= d.seq) sizes.delete(k);
      }
      if (d && d.op === 'segment') {
        state.reported = state.posted;
        sizes.clear();
      }
      fn(e);
    };
  }
};
function track() {
  let bytes = 0;
  for (const v of sizes.values()) bytes += v;
  state.maxBehind = Math.max(state.maxBehind, sizes.size);
  state.maxBehindBytes = Math.max(state.maxBehindBytes, bytes);
}

const record = (opts) =>
  rrweb.record({
    ...opts,
    emit: (e, checkout) => {
      state.recorded.push(JSON.stringify(e));
      opts.emit(e, checkout);
    },
  });
record.takeFullSnapshot = (c) => rrweb.record.takeFullSnapshot(c);

const replay = startReplay({
  workerUrl: q.get('worker'),
  dsn: q.get('dsn'),
  // `buffer`: buffer mode (every error sampled) instead of a session.
  sessionSampleRate: q.has('buffer') ? 0 : 1,
  errorSampleRate: q.has('buffer') ? 1 : 0,
  minReplayDurationMs: q.has('minMs') ? Number(q.get('minMs')) : 0,
  rrweb: { record },
  record: { maskAllInputs: false },
  onError: (e) => {
    state.errors.push(String(e.message || e));
    state.errorTimes.push(Date.now());
  },
});
state.replay = replay;
replay.ready.then(({ replayId, mode }) => {
  state.replayId = replayId;
  state.mode = mode;
});

/** Adds events as a recorder would (one call per event), and keeps their text. */
state.burst = (n, tag) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const e = { type: 5, timestamp: Date.now(), data: { tag: 'load', payload: { tag, i } } };
    state.recorded.push(JSON.stringify(e));
    replay.addEvents([e]);
  }
  return performance.now() - t0;
};
