// @ts-check
// ringflate host script: engine mode for a page. rrweb records, the engine core (core.js) carries events to the
// worker and hands back what the worker produced; this module sends it (fetch, with retries), delivers the
// open segment on pagehide, and stops and restarts rrweb when the worker says so.
import { createEngine, VERSION } from './core.js';

export { createEngine, VERSION };

const RETRY_MS = [5000, 10000, 30000];
const KEEPALIVE_MAX = 60000;
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
  let inflight = 0;

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

  /** @param {import('./protocol').SegmentMessage} seg @param {number} attempt */
  const send = (seg, attempt) => {
    inflight++;
    /** @param {boolean | null} ok */
    const done = (ok) => {
      inflight--;
      if (ok) return;
      // Network failures are retried; an answer that says no (refused, rate limited) is final, as in the SDKs.
      if (ok === null && attempt < RETRY_MS.length) scope.setTimeout(() => send(seg, attempt + 1), RETRY_MS[attempt]);
      else stop();
    };
    const transport = o.transport;
    /** @type {Promise<boolean>} */
    const p = seg.url
      ? scope
          .fetch(seg.url, { method: 'POST', body: seg.body, keepalive: seg.body.length <= KEEPALIVE_MAX && inflight < 15 })
          .then((r) => r.ok)
      : new Promise((resolve) => resolve(transport && transport(seg))).then(() => true);
    p.then(done, () => done(null));
  };

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
        send(seg, 0);
        if (o.onSegment) o.onSegment(seg);
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

  // Unload: the worker has no time to answer, so send what it already streamed for the open segment.
  const onPageHide = () => {
    const p = engine.partial();
    if (p && p.url && scope.navigator.sendBeacon(p.url, p.body)) engine.delivered(p);
  };

  scope.document.addEventListener('visibilitychange', onHidden);
  scope.addEventListener('pagehide', onPageHide);

  function stop() {
    if (stopped) return;
    stopped = true;
    stopRrweb();
    engine.stop();
    scope.document.removeEventListener('visibilitychange', onHidden);
    scope.removeEventListener('pagehide', onPageHide);
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
  };
}
