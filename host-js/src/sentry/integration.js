// ringflateReplay: a Sentry integration in which the ringflate worker owns the replay (sampling, buffer,
// segments, compression) and the SDK keeps breadcrumbs, error capture, scope and transport.
//
// Only the SDK's public API is used: the integration hooks (afterAllSetup, processEvent, processSpan),
// client.on(…) events, client.sendEnvelope, client.getDsn / getOptions / getSdkMetadata / getIntegrationByName
// / recordDroppedEvent, and @sentry/core's exported functions. Where this follows Sentry's own replay, the file
// of getsentry/sentry-javascript packages/replay-internal it follows is named.
import { record } from '@sentry-internal/rrweb';
import { debug, normalize, isSentryRequestUrl, getClient, getCurrentScope } from '@sentry/core';
// The engine core is ringflate's own, shared with startReplay (one copy in an app that uses both).
import { createEngine } from 'ringflate';
import { recordOptions } from './recording.js';
import { breadcrumbEvent, spanEvent, copyBreadcrumb, networkSpan, historySpan, memorySpan, observePerformance, watchDom, listen, guard } from './events.js';
import { sameCore, prepareReplayEvent, replayEnvelope, readResponse } from './envelope.js';

const ACTIVITY = ['pointerdown', 'keydown', 'scroll', 'touchstart'];


/** Writes `ringflate: <text>` on the SDK's logger (shown with `debug: true`). */
const log = guard((client, text, level = 'error') => {
  // A second @sentry/core copy has its own logger switch: turn it on when the client asked for debug.
  if (!sameCore(client) && client.getOptions().debug && !debug.isEnabled()) debug.enable();
  debug[level]('ringflate: ' + text);
});

/**
 * @param {import('../sentry').RingflateReplayOptions} [options]
 * @returns {import('../sentry').RingflateReplayIntegration}
 */
export function ringflateReplay(options) {
  const o = options || {};
  let setUp = false;
  let state = null;

  // Sentry.init without a dsn sets up no integration at all: say so once the SDK has had its chance.
  setTimeout(guard(() => {
    const c = getClient();
    if (!setUp && c && !c.getDsn()) log(c, 'Sentry.init has no dsn, so no replay is recorded');
  }));

  return {
    name: 'RingflateReplay',
    afterAllSetup(client) {
      setUp = true;
      try {
        state = start(client, o);
      } catch (e) {
        log(client, 'could not start: ' + e);
      }
    },
    processEvent(event, hint) {
      try {
        return state ? state.processEvent(event, hint || {}) : event;
      } catch {
        return event;
      }
    },
    /** The current replay id while recording. */
    // Streamed spans carry the replay id (src/integration.ts processSpan).
    processSpan: guard((span) => {
      const m = state && state.mode();
      const a = m && (span.attributes = span.attributes || {});
      if (a && !a['sentry.replay_id']) a['sentry.replay_id'] = state.engine.replayId;
      if (m === 'buffer') a['sentry._internal.replay_is_buffering'] = true;
    }),
    getReplayId: () => (state && state.mode() ? state.engine.replayId : undefined),
    /** Buffer mode: sends the buffered history now and continues as a session; session mode: sends what is pending. */
    flush: () => state && state.engine.flush(),
    /** Sends what is pending and stops recording. */
    stop: () => state && state.stop(),
  };
}

function start(client, o) {
  const say = (text, level) => log(client, text, level);
  const co = client.getOptions();
  const sessionSampleRate = co.replaysSessionSampleRate;
  const errorSampleRate = co.replaysOnErrorSampleRate;
  const not = (why) => say(why + ': not starting');
  // Sentry de-duplicates integrations by name only, so its own replay can be installed beside this one.
  if (client.getIntegrationByName('Replay')) return not("Sentry's replayIntegration is installed too; remove one");
  if (!o.workerUrl) return not('ringflateReplay needs workerUrl, the URL of ringflate-worker.js on your site');
  if (sessionSampleRate == null && errorSampleRate == null) return not('replaysSessionSampleRate and replaysOnErrorSampleRate are unset');
  const withScope = sameCore(client);
  if (!withScope) say('a second @sentry/core is bundled: replay events miss the scope data', 'warn');

  const rec = recordOptions(o);
  const mirror = record.mirror;
  const limits = {};
  const drawn = new Map(); // buffer mode: error id → its draw, until the error was sent
  let names = new Set(); // span / transaction names for the next segment's segment_names
  let stopRecording = null;
  let dom = null;
  let stopPerf = null;
  let firstSegment = true; // nothing handed over yet in this replay: checkouts carry the options event
  let lastEvent = null; // the last replay_event prepared, for the unload path
  let queue = Promise.resolve();
  let awaitingBuffer = false; // a sampled error asked for the buffer; until it arrives the DSC has no replay_id
  let done = false; // the replay ended here (stop(), a refusal, a rate limit)
  let refused = false; // Sentry refused or rate-limited a segment: nothing more is sent
  let offs = [];

  // DSCs computed before the replay was a session (e.g. the one browser tracing keeps on the scope after the
  // pageload span) get the replay id, and lose it when the replay ends (src/util/resetReplayIdOnDynamicSamplingContext.ts).
  // (A span's DSC is computed afresh through the createDsc hook below; one frozen from an incoming trace is not updated.)
  const markDsc = guard((id) => {
    const d = withScope && getCurrentScope().getPropagationContext().dsc;
    if (d) id ? (d.replay_id = id) : delete d.replay_id;
  });

  const addCustom = (ev) => stopRecording && engine.add([ev]);
  const addSpan = (s) => addCustom(spanEvent(s));
  const addCrumb = (b) => addCustom(breadcrumbEvent(b, normalize));
  const addMemory = () => {
    const m = memorySpan();
    if (m) addSpan(m);
  };

  // The `options` event Sentry writes after the first checkout of segment 0 (src/util/handleRecordingEmit.ts).
  const optionsEvent = () => ({
    type: 5,
    timestamp: Date.now(),
    data: {
      tag: 'options',
      payload: {
        shouldRecordCanvas: false,
        sessionSampleRate,
        errorSampleRate,
        useCompressionOption: true,
        ...rec.flags, // maskAllText, maskAllInputs, blockAllMedia
        useCompression: true,
        networkDetailHasUrls: false,
        networkCaptureBodies: true,
        networkRequestHasHeaders: true,
        networkResponseHasHeaders: true,
      },
    },
  });

  const startRecording = () => {
    if (stopRecording || done) return;
    dom = watchDom(addCrumb, mirror, rec.maskAttr);
    stopPerf = observePerformance(addSpan, (n) => mirror.getId(n));
    stopRecording = guard(record)(
      {
        ...rec.options,
        emit: guard((ev) => {
          dom.rrwebEvent(ev);
          engine.add([ev]);
          if (ev.type === 2 && firstSegment) engine.add([optionsEvent()]);
        }),
      },
    );
    if (stopRecording) addMemory();
    else say('the recorder failed to start');
  };

  const stopRrweb = () => {
    if (stopRecording) guard(stopRecording)();
    if (dom) dom.stop();
    if (stopPerf) stopPerf();
    stopRecording = dom = stopPerf = null;
  };

  // Calls `fn` once at the next user input.
  const onInput = (fn) => {
    const off = () => offs.forEach((x) => x());
    offs = ACTIVITY.map((t) => listen(globalThis, t, () => (off(), done || fn())));
  };

  const stopReplay = (why) => {
    if (done) return;
    done = true;
    stopRrweb();
    engine.stop();
    markDsc();
    offs.forEach((x) => x());
    offHide();
    offVisible();
    if (why) say('replay stopped: ' + why, 'warn');
  };

  // Sends one envelope; retries after 5, 10 and 30 s when there was no answer, stops on a refusal or a rate
  // limit (src/util/sendReplay.ts, src/replay.ts _runFlush).
  const send = (env, n = 0) =>
    Promise.resolve(client.sendEnvelope(env))
      .then((resp) => readResponse(resp, limits), () => 'retry')
      .then((verdict) => {
        if (verdict === 'ok' || refused) return;
        if (verdict === 'retry' && n < 3) return new Promise((r) => setTimeout(r, 5000 * [1, 2, 6][n])).then(() => send(env, n + 1));
        refused = true;
        const limited = readResponse({ statusCode: 200 }, limits) === 'stop';
        guard(() => client.recordDroppedEvent(limited ? 'ratelimit_backoff' : 'send_error', 'replay'))();
        stopReplay(limited ? 'rate limited by Sentry' : verdict === 'retry' ? 'Sentry could not be reached' : 'Sentry refused a segment');
      });

  const takeNames = () => {
    const n = [...names];
    names = new Set();
    return n;
  };

  const onSegment = (seg) => {
    firstSegment = false;
    if (awaitingBuffer) markDsc(engine.replayId);
    awaitingBuffer = false;
    const base = JSON.parse(seg.replayEvent);
    const segmentNames = takeNames();
    addMemory();
    queue = queue.then(() =>
      new Promise((resolve) =>
        prepareReplayEvent(client, base, segmentNames, withScope, (ev) => {
          if (ev && !refused) resolve(send(replayEnvelope(client, (lastEvent = ev), seg.body)));
          else resolve();
        }),
      ),
    );
  };

  // Unload: the worker has no time to answer, so the open segment it already streamed back is sent now.
  // Sentry's fetch transport starts its (keepalive) request inside sendEnvelope, synchronously.
  const offHide = listen(globalThis, 'pagehide', () => {
    const p = engine.partial();
    if (!p || done) return;
    const base = JSON.parse(p.replayEvent);
    let ev = null;
    prepareReplayEvent(client, base, takeNames(), withScope, (e) => (ev = e));
    // An asynchronous event processor would answer too late: reuse what the last segment's processing gave.
    if (!ev && lastEvent) ev = { ...lastEvent, ...base, event_id: base.replay_id, segment_names: [] };
    if (!ev) return;
    client.sendEnvelope(replayEnvelope(client, ev, p.body));
    engine.delivered(p);
  });
  const offVisible = listen(document, 'visibilitychange', () => engine.hidden(document.visibilityState === 'hidden'));

  const callbacks = {
    onStarted(s) {
      firstSegment = !s.segmentId;
      if (s.mode === 'session') markDsc(s.replayId);
      if (s.mode !== 'off') startRecording();
    },
    onSegment,
    onCheckout: () => stopRecording && guard(record.takeFullSnapshot)(true),
    onPause() {
      stopRrweb();
      onInput(() => (engine.resume(), startRecording()));
    },
    onStopped(reason) {
      stopRrweb();
      // After an idle or too-long replay a new one starts at the next user input.
      if (reason === 'idle' || reason === 'maxDuration') onInput(engine.restart);
    },
    // Without a code the worker could not be created, loaded or started: nothing will be recorded.
    onError: (e) => log(client, e.message.slice(11) + (e.code ? '' : ' (no replay is recorded)')),
  };
  // The core calls these from the worker's messages: none of them may throw into the page.
  for (const k in callbacks) callbacks[k] = guard(callbacks[k]);
  const engine = createEngine({
    ...callbacks,
    workerUrl: o.workerUrl,
    config: {
      sessionSampleRate: sessionSampleRate || 0,
      errorSampleRate: errorSampleRate || 0,
      bufferMs: o.bufferMs,
      maxBufferBytes: o.maxBufferBytes,
      minReplayDurationMs: o.minReplayDuration,
      sentryClient: true,
    },
    batchMs: o.batchMs,
  });

  const on = (hook, fn) => client.on(hook, guard(fn));
  on('beforeAddBreadcrumb', (crumb, hint) => {
    const c = crumb.category;
    if (!stopRecording) return;
    if (c === 'fetch' || c === 'xhr') {
      const s = networkSpan(crumb, hint);
      if (s && !isSentryRequestUrl(s.name, client)) addSpan(s);
      return;
    }
    if (c === 'navigation' && crumb.data && crumb.data.to) addSpan(historySpan(crumb));
    const b = copyBreadcrumb(crumb, normalize);
    if (b) addCrumb(b);
  });

  const addName = (n) => n && names.size < 100 && names.add(n);
  // Error ids and trace ids reach the next segment once their events were sent, and a sampled error sends the
  // buffer only then (src/coreHandlers/handleAfterSendEvent.ts).
  on('afterSendEvent', (event, resp) => {
    const code = resp && resp.statusCode;
    const ok = code >= 200 && code < 300;
    const id = event.event_id;
    const d = drawn.get(id);
    drawn.delete(id);
    if (!mode()) return;
    if (d) {
      // One `error` per draw (the worker counts them); an error not sent links nothing and sends no buffer.
      const b = mode() === 'buffer';
      if (d.r === engine.replayId && engine.error(ok ? id : undefined, ok && d.s) && b) awaitingBuffer = true;
    } else if (!ok) return;
    else if (event.type === 'transaction') {
      const t = event.contexts && event.contexts.trace;
      if (t && t.trace_id) engine.trace(t.trace_id);
      addName(event.transaction);
    } else if (!event.type && mode() === 'session') engine.error(id);
  });
  // Streamed spans name their segment the same way (src/coreHandlers/handleProcessSegmentSpan.ts).
  on('processSegmentSpan', (span) => {
    if (!mode()) return;
    if (span.trace_id) engine.trace(span.trace_id);
    addName(span.name);
  });
  // The dynamic sampling context carries the replay id in session mode (src/util/addGlobalListeners.ts).
  on('createDsc', (dsc) => {
    if (mode() === 'session' && !awaitingBuffer && !done) dsc.replay_id = engine.replayId;
  });

  function mode() {
    return done || engine.mode === 'off' ? undefined : engine.mode;
  }

  return {
    engine,
    mode,
    stop: () => stopReplay(),
    // Tags and error sampling, as Sentry's event processor (src/coreHandlers/handleGlobalEvent.ts).
    processEvent: (event, hint) => {
      const m = mode();
      const type = event.type;
      if (type === 'replay_event') delete event.breadcrumbs;
      if (!m || (type && type !== 'transaction')) return event;
      // Errors thrown inside the recorder are not the app's.
      if (!type && hint.originalException && hint.originalException.__rrweb__) return null;
      let tag = m === 'session';
      const md = event.sdkProcessingMetadata;
      // Buffer mode: only exceptions take a draw, answered now from the worker's pre-drawn draws; the error is
      // posted (and a sampled one sends the buffer) once it was sent, in afterSendEvent.
      if (!type && m === 'buffer' && event.exception && !(md && md.hasDefaultSyntheticStacktrace)) {
        tag = engine.draw();
        drawn.set(event.event_id, { r: engine.replayId, s: tag });
      }
      if (tag) event.tags = { ...event.tags, replayId: engine.replayId };
      return event;
    },
  };
}
