// @ts-check
// ringflate host script: engine mode for a page. rrweb records, the engine core (core.js) carries events to the
// worker and hands back what the worker produced; this module sends it (fetch, in order, retried until the
// destination accepts it), delivers the open segment on pagehide, and stops and restarts rrweb when the worker
// says so.
import { createEngine, VERSION } from './core.js';

export { createEngine, VERSION };

// The browser's keepalive quota: 64 KiB of bodies in flight, and Sentry's fetch transport also keeps under 15
// requests (packages/browser/src/transports/fetch.ts in getsentry/sentry-javascript).
const KEEPALIVE_BYTES = 65536;
const KEEPALIVE_COUNT = 15;
// A body over this goes to fetch as a Blob: Chromium's fetch copies a byte body on the calling thread at about
// 80 MB/s (a 2 MB buffer segment: ~24 ms of the page's time), a Blob in 3–4 ms whatever its size, which below
// this is slower than the copy (bench/README.md, "Handing events to the worker").
const BLOB_BYTES = 262144;
const ACTIVITY = ['pointerdown', 'keydown', 'scroll', 'touchstart'];

/**
 * Starts recording a replay in engine mode. See index.d.ts for the options.
 * @param {import('./index').ReplayOptions} options
 * @param {import('./index').PageScope} [scope]
 * @returns {import('./index').Replay}
 */
export function startReplay(options, scope = /** @type {any} */ (globalThis)) {
  const o = options || {};
  if (!o.workerUrl || !(o.dsn || o.tunnel || o.endpoint || o.transport)) {
    throw new Error('ringflate: startReplay needs workerUrl and one of dsn, tunnel, endpoint or transport');
  }
  const rrweb = /** @type {any} */ (o.rrweb || scope.rrweb);
  const recordFn = rrweb && (rrweb.record || rrweb);
  /** @type {(() => void) | null} */
  let stopRecording = null;
  let stopped = false;
  /** @type {import('./protocol').SegmentMessage[]} */
  const queue = [];
  let busy = false;
  let tries = 0;
  // keepalive bodies in flight: bytes, requests
  let kaBytes = 0;
  let kaCount = 0;
  let hold = 0; // a rate limit that came with an accepted answer
  /** @type {unknown} */
  let waiting = 0; // the timer of a backoff or a rate limit: nothing is sent before it fires
  let limited = false; // that timer is a rate limit (coming back online does not cut it short)

  const record = () => {
    if (!recordFn || o.record === false || stopRecording || stopped) return;
    stopRecording = recordFn({ ...o.record, emit: (/** @type {object} */ e) => engine.add([e]) }) || null;
  };

  const stopRrweb = () => {
    if (stopRecording) stopRecording();
    stopRecording = null;
  };

  /** @param {() => void} fn @param {boolean} [off] */
  const onInput = (fn, off) =>
    ACTIVITY.forEach((t) => (off ? scope.removeEventListener(t, fn, true) : scope.addEventListener(t, fn, { capture: true, passive: true })));

  const onActivity = () => {
    onInput(onActivity, true);
    if (stopped) return;
    engine.resume();
    record();
  };

  const onRestart = () => {
    onInput(onRestart, true);
    engine.restart();
  };

  /** @param {number} n body bytes: within the keepalive quota, counting every keepalive body in flight */
  const fits = (n) => kaBytes + n <= KEEPALIVE_BYTES && kaCount < KEEPALIVE_COUNT;

  /**
   * One request; resolves with 0 (accepted), the ms to wait before trying again, or -1 (refused for good).
   * @param {{ url?: string, body: Uint8Array<ArrayBuffer> }} seg
   * @returns {Promise<number>}
   */
  const request = (seg) => {
    const n = seg.body.length;
    const keepalive = fits(n);
    if (keepalive) (kaBytes += n), kaCount++;
    const done = () => {
      if (keepalive) (kaBytes -= n), kaCount--;
    };
    // Backoff for failures without a rate limit: 1, 2, 4 … 30 s.
    const backoff = () => Math.min(1000 << tries++, 30000);
    const p = seg.url
      ? scope.fetch(seg.url, { method: 'POST', body: n > BLOB_BYTES ? new Blob([seg.body]) : seg.body, keepalive }).then((r) => {
          const wait = verdict(r);
          limited = wait > 0;
          if (r.ok) return (hold = wait), 0;
          return wait || (r.status >= 500 || r.status === 408 ? backoff() : -1);
        })
      : new Promise((resolve) => resolve(o.transport && o.transport(/** @type {any} */ (seg)))).then(() => 0);
    return p.then(
      (v) => (done(), v),
      () => (done(), backoff()),
    );
  };

  // Segments go out one at a time, oldest first; a failure keeps the segment at the head of the queue.
  /** @param {number} ms */
  const later = (ms) => {
    waiting = scope.setTimeout(() => {
      waiting = 0;
      limited = false;
      pump();
    }, ms);
  };

  const pump = () => {
    if (busy || waiting || !queue.length) return;
    // Offline: wait for the browser to say it is back (the `online` listener pumps again).
    if (scope.navigator.onLine === false) return;
    busy = true;
    const seg = queue[0];
    request(seg).then((wait) => {
      busy = false;
      if (wait > 0) return later(wait);
      if (wait < 0) error('ringflate: the destination refused segment ' + seg.segmentId + ' (not sent again)');
      tries = 0;
      queue.shift();
      engine.sent(seg);
      if (hold) later(hold);
      else pump();
      hold = 0;
    });
  };

  /** @param {string} message */
  const error = (message) => o.onError && o.onError(new Error(message));

  const engine = createEngine(
    {
      workerUrl: o.workerUrl,
      batchMs: o.batchMs,
      config: {
        sessionSampleRate: o.sessionSampleRate || 0,
        errorSampleRate: o.errorSampleRate || 0,
        bufferMs: o.bufferMs,
        maxBufferBytes: o.maxBufferBytes,
        minReplayDurationMs: o.minReplayDurationMs,
        dsn: o.dsn,
        tunnel: o.tunnel,
        endpoint: o.endpoint,
        sdk: { name: 'ringflate.host', version: VERSION },
        environment: o.environment,
        release: o.release,
      },
      onStarted: (s) => {
        if (s.mode !== 'off') record();
      },
      onSegment: (seg) => {
        queue.push(seg);
        // 16 MiB of segments are held for sending (the newest first, besides the one in flight); older ones beyond
        // it stay in the worker's store for the next page load. (Inside startReplay, so that a bundler drops it
        // with startReplay.)
        let held = 0;
        for (let i = queue.length; i--; ) if ((held += queue[i].body.length) > 16 << 20 && i >= +busy) queue.splice(i, 1);
        pump();
        if (o.onSegment) o.onSegment(seg);
      },
      onRescue: (p) => {
        queue.push(/** @type {any} */ (p));
        pump();
      },
      onCheckout: () => {
        if (recordFn && recordFn.takeFullSnapshot) recordFn.takeFullSnapshot(true);
      },
      onPause: () => {
        stopRrweb();
        onInput(onActivity);
      },
      onStopped: (reason) => {
        stopRrweb();
        // A replay that ended by itself is followed by a new one at the next user input.
        if (!stopped && (reason === 'idle' || reason === 'maxDuration')) onInput(onRestart);
      },
      onError: o.onError,
    },
    scope,
  );

  const onHidden = () => engine.hidden(scope.document.visibilityState === 'hidden');

  // Unload: the worker has no time to answer, so the open segment is framed here (what the worker streamed plus
  // the events it has not) and sent when it fits the keepalive quota; otherwise the worker's store keeps it for
  // the next page load. `sent` follows the ingest's answer: if the page is gone by then, the next load may send
  // that segment again (as the worker kept it), but never loses it.
  const onPageHide = () => {
    const p = engine.partial();
    if (!p || !p.url || !fits(p.body.length)) return;
    engine.delivered(p);
    request(p).then((wait) => {
      if (wait > 0) queue.push(/** @type {any} */ (p)), waiting || later(wait);
      else engine.sent(p);
    });
  };

  scope.document.addEventListener('visibilitychange', onHidden);
  scope.addEventListener('pagehide', onPageHide);
  // Back online: a backoff is cut short, a rate limit is not.
  const onOnline = () => {
    if (!limited) scope.clearTimeout(waiting), (waiting = 0);
    pump();
  };
  scope.addEventListener('online', onOnline);

  function stop() {
    if (stopped) return;
    stopped = true;
    stopRrweb();
    engine.stop();
    scope.document.removeEventListener('visibilitychange', onHidden);
    scope.removeEventListener('pagehide', onPageHide);
    scope.removeEventListener('online', onOnline);
    onInput(onActivity, true);
    onInput(onRestart, true);
  }

  return {
    get replayId() {
      return engine.replayId;
    },
    get mode() {
      return engine.mode;
    },
    ready: engine.ready,
    addEvents: engine.add,
    captureError: (_error, opts) => engine.error(opts && opts.eventId),
    trace: engine.trace,
    flush: engine.flush,
    stop,
    forget() {
      stop();
      engine.forget();
    },
  };
}

/**
 * The rate limit an answer sets, in ms (0: none). A 429, or any answer with X-Sentry-Rate-Limits for the
 * `replay` category or all, holds every request until it ends; then sending continues. Sentry's own replay
 * stops instead (packages/replay-internal/src/util/sendReplayRequest.ts and src/replay.ts `_runFlush` in
 * getsentry/sentry-javascript), and its transport drops what it is given meanwhile; the header formats and the
 * 60 s default are those of packages/core/src/utils/ratelimit.ts.
 * @param {{ ok: boolean, status: number, headers?: { get(name: string): string | null } }} r
 */
function verdict(r) {
  const get = (/** @type {string} */ h) => (r.headers && r.headers.get(h)) || '';
  let wait = 0;
  for (const limit of get('X-Sentry-Rate-Limits').split(',')) {
    const [secs, cats] = limit.split(':');
    if (secs && (!cats || cats.split(';').includes('replay'))) wait = Math.max(wait, (parseInt(secs, 10) || 60) * 1000);
  }
  if (!wait && r.status === 429) {
    const after = get('Retry-After');
    wait = after ? (+after * 1000 || Date.parse(after) - Date.now()) : 60000;
  }
  return wait > 0 ? wait : 0;
}
