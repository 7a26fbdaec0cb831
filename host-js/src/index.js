// ringflate host script: everything the page does in engine mode.
//
// The worker owns sampling, buffering, compression, segment assembly and the
// session; this script only posts batches of events, answers error-sampling
// questions from draws the worker handed over, and sends what the worker
// hands back. Protocol: worker/PROTOCOL.md (engine protocol v1).

const STORAGE_KEY = 'ringflateSession';
const RETRY_MS = [5000, 10000, 30000];
const KEEPALIVE_MAX = 60000;
const ACTIVITY = ['pointerdown', 'keydown', 'scroll', 'touchstart'];

/**
 * Starts recording a replay in engine mode. See index.d.ts for the options.
 * @param {import('./index').ReplayOptions} options
 * @returns {import('./index').Replay}
 */
export function startReplay(options) {
  const o = options || {};
  if (!o.workerUrl || !(o.dsn || o.tunnel || o.endpoint || o.transport)) {
    throw new Error('ringflate: startReplay needs workerUrl and one of dsn, tunnel, endpoint or transport');
  }
  const worker = new Worker(o.workerUrl);
  const rrweb = o.rrweb || globalThis.rrweb;
  const recordFn = rrweb && (rrweb.record || rrweb);
  const storage = sessionStorageOrNull();
  const batchMs = o.batchMs === undefined ? 250 : o.batchMs;
  let batch = [];
  let timer = 0;
  let stopRecording = null;
  let draws = [];
  let mode = 'off';
  let replayId;
  let stopped = false;
  let inflight = 0;
  // Open segment being streamed by the worker, for delivery on unload.
  let partial = null;
  const beaconed = new Set();
  let onReady;
  const ready = new Promise((resolve) => (onReady = resolve));

  const post = (msg) => worker.postMessage(Object.assign({ rf: 1 }, msg));
  const target = o.tunnel || envelopeUrl(o.dsn) || o.endpoint;
  // JSON round trip: unset options are left out rather than sent as undefined.
  const startMessage = (session) => ({
    op: 'start',
    config: JSON.parse(JSON.stringify({
      sessionSampleRate: o.sessionSampleRate || 0,
      errorSampleRate: o.errorSampleRate || 0,
      bufferMs: o.bufferMs,
      maxBufferBytes: o.maxBufferBytes,
      minReplayDurationMs: o.minReplayDurationMs,
      dsn: o.dsn,
      tunnel: o.tunnel,
      endpoint: o.endpoint,
      sdk: { name: 'ringflate.host', version: '0.1.0' },
      environment: o.environment,
      release: o.release,
    })),
    session,
    url: location.href,
  });

  const flushBatch = () => {
    clearTimeout(timer);
    timer = 0;
    if (batch.length) {
      const json = JSON.stringify(batch);
      batch = [];
      post({ op: 'events', json });
    }
  };

  const addEvents = (events) => {
    if (stopped || mode === 'off') return;
    for (const e of events) batch.push(e);
    // One message per batch window: posting is the main thread's largest cost per
    // event, so events are collected for up to `batchMs` (flushed at once on
    // hide, unload, errors and flush()).
    if (!timer) timer = setTimeout(flushBatch, batchMs);
  };

  const record = () => {
    if (!recordFn || o.record === false || stopRecording) return;
    stopRecording = recordFn(Object.assign({}, o.record, { emit: (e) => addEvents([e]) })) || null;
  };

  const stopRrweb = () => {
    if (stopRecording) stopRecording();
    stopRecording = null;
  };

  const onActivity = () => {
    ACTIVITY.forEach((t) => removeEventListener(t, onActivity, true));
    if (stopped) return;
    post({ op: 'resume' });
    record();
  };

  const waitForActivity = () => {
    stopRrweb();
    ACTIVITY.forEach((t) => addEventListener(t, onActivity, { capture: true, passive: true }));
  };

  const send = (seg, attempt) => {
    inflight++;
    const done = (ok) => {
      inflight--;
      if (ok) return;
      if (attempt < RETRY_MS.length && ok === null) {
        setTimeout(() => send(seg, attempt + 1), RETRY_MS[attempt]);
      } else {
        // Rate limited, refused, or out of retries: stop like the SDKs do.
        stop();
      }
    };
    let p;
    if (seg.kind === 'plain' && o.transport) {
      p = Promise.resolve(o.transport(seg)).then(() => true);
    } else {
      const url = seg.kind === 'plain' ? plainUrl(o.endpoint, seg) : seg.url || target;
      p = fetch(url, {
        method: 'POST',
        body: seg.body,
        keepalive: seg.body.length <= KEEPALIVE_MAX && inflight < 15,
      }).then((r) => (r.ok ? true : false));
    }
    // Network failures are retried; an answer that says no is final.
    p.then(done, () => done(null));
  };

  const persist = (value) => {
    if (storage) storage.setItem(STORAGE_KEY, value);
  };

  worker.onmessage = ({ data }) => {
    if (!data || data.rf !== 1) {
      // The worker's first message (Sentry protocol): start the engine.
      if (data && data.method === 'init') {
        if (data.success) {
          post(startMessage(storage && storage.getItem(STORAGE_KEY)));
        } else {
          fail(data.response);
        }
      }
      return;
    }
    switch (data.op) {
      case 'started':
        replayId = data.replayId;
        mode = data.mode;
        draws = data.draws.slice();
        onReady({ replayId, mode });
        if (mode !== 'off') record();
        break;
      case 'draws':
        draws.push(...data.draws);
        break;
      case 'session':
        persist(data.value);
        break;
      case 'checkout':
        if (recordFn && recordFn.takeFullSnapshot) recordFn.takeFullSnapshot(true);
        break;
      case 'pause':
        waitForActivity();
        break;
      case 'stopped':
        mode = 'off';
        partial = null;
        if (data.reason === 'idle' || data.reason === 'maxDuration') {
          // A new replay starts at the next user input.
          stopRrweb();
          ACTIVITY.forEach((t) => addEventListener(t, onRestart, { capture: true, passive: true }));
        } else {
          stopRrweb();
        }
        break;
      case 'partial':
        if (!partial || partial.segmentId !== data.segmentId) {
          partial = { segmentId: data.segmentId, chunks: [] };
        }
        partial.chunks.push(data.chunk);
        partial.head = data.head;
        partial.tail = data.tail;
        partial.session = data.session;
        break;
      case 'segment':
        if (partial && partial.segmentId === data.segmentId) partial = null;
        if (!beaconed.has(data.segmentId)) send(data, 0);
        if (o.onSegment) o.onSegment(data);
        break;
      case 'rejected':
        if (o.onError) o.onError(new Error('ringflate: ' + data.message));
        break;
    }
  };

  const onRestart = () => {
    ACTIVITY.forEach((t) => removeEventListener(t, onRestart, true));
    if (stopped) return;
    post(startMessage(null));
  };

  worker.onerror = (e) => fail((e && e.message) || 'worker failed to load: check workerUrl and worker-src');

  function fail(message) {
    stopped = true;
    if (o.onError) o.onError(new Error('ringflate: ' + message));
  }

  const onHidden = () => {
    if (document.visibilityState !== 'hidden') {
      post({ op: 'hidden', hidden: false });
      return;
    }
    flushBatch();
    post({ op: 'hidden', hidden: true });
  };

  // Unload: the worker has no time to answer, so send what it already
  // streamed to us for the open segment (head + chunks + tail).
  const onPageHide = () => {
    flushBatch();
    const p = partial;
    if (!p || !p.head) return;
    const body = new Blob([p.head, ...p.chunks, p.tail]);
    const url = o.dsn || o.tunnel ? target : plainUrl(o.endpoint, { replayId, segmentId: p.segmentId });
    if (url && navigator.sendBeacon(url, body)) {
      beaconed.add(p.segmentId);
      persist(p.session);
      partial = null;
    }
  };

  document.addEventListener('visibilitychange', onHidden);
  addEventListener('pagehide', onPageHide);

  function stop() {
    if (stopped) return;
    flushBatch();
    stopRrweb();
    stopped = true;
    post({ op: 'stop' });
    document.removeEventListener('visibilitychange', onHidden);
    removeEventListener('pagehide', onPageHide);
  }

  return {
    get replayId() {
      return replayId;
    },
    get mode() {
      return mode;
    },
    ready,
    addEvents,
    captureError(error, opts) {
      let sampled = false;
      if (mode === 'session') sampled = true;
      else if (mode === 'buffer') sampled = draws.length ? draws.shift() : false;
      if (mode !== 'off') {
        // A sampled error turns the buffer into a recorded session (the worker sends the history).
        if (sampled) mode = 'session';
        flushBatch();
        post({ op: 'error', eventId: opts && opts.eventId, sampled });
      }
      return sampled;
    },
    flush() {
      flushBatch();
      post({ op: 'flush' });
    },
    stop,
  };
}

// Sentry's envelope endpoint for a DSN `{scheme}://{key}@{host}/{project}`.
function envelopeUrl(dsn) {
  const m = dsn && /^(\w+):\/\/(\w+)@([^/]+)\/(.*\/)?(\w+)$/.exec(dsn);
  return m && `${m[1]}://${m[3]}/${m[4] || ''}api/${m[5]}/envelope/?sentry_version=7&sentry_key=${m[2]}`;
}

// A plain segment goes to the app's own endpoint, described in the query.
function plainUrl(endpoint, seg) {
  const q = new URLSearchParams();
  for (const k of ['replayId', 'segmentId', 'replayType', 'start', 'end', 'eventCount']) {
    if (seg[k] !== undefined) q.set(k, seg[k]);
  }
  return endpoint + (endpoint.indexOf('?') < 0 ? '?' : '&') + q;
}

function sessionStorageOrNull() {
  try {
    return globalThis.sessionStorage || null;
  } catch {
    return null;
  }
}
